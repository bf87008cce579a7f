//go:build !unix

package main

// restrictUmask does nothing where there is no umask; files are created
// with owner-only modes regardless.
func restrictUmask() {}
