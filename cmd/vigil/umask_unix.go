//go:build unix

package main

import "syscall"

// restrictUmask makes every file and folder the process creates owner-only,
// those made by libraries with modes of their own (SQLite's 0644) too: what
// Vigil writes is incident data, evidence and keys.
func restrictUmask() { syscall.Umask(0o077) }
