// Package registry runs a container image registry inside the calling
// process for the examples: distribution v3 (the registry people run),
// storing in memory, listening on 127.0.0.1 over plain HTTP. With it the
// examples push and pull offline.
//
// The library's resolvers speak plain HTTP to loopback hosts and HTTPS to
// every other, so a reference naming Host needs no option to reach it.
package registry
