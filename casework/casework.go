// Package casework gathers what several services hold into the things
// Vigil hands out whole: an incident's report, the management report, the
// preparedness assessment and a sighting ready to share. The JSON API
// (package http) and the pages (package web) both call it, so the two show
// the same thing. It reads only through the services, as the actor in ctx
// may see; the rules it applies live in package vigil, and the documents
// are written by packages reporting and stix.
package casework
