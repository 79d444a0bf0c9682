// Package testutil provides the real parts that tests of this module run
// against: an in-process registry (distribution/distribution v3 with
// in-memory storage, optionally behind htpasswd or token auth with its own
// token server), Debian's docker-registry as a separate process, a
// fault-injecting proxy with a blob mirror for redirects, random OCI images
// and indexes with helpers that push them, and skips for tests that need
// root.
//
// It is for tests only: every constructor takes a testing.TB, fails the test
// on error and registers its cleanup with t.Cleanup. It holds no fakes of
// this module's own interfaces; those belong next to the interfaces.
//
// # Servers
//
// Every server listens on 127.0.0.1 (a fresh port each) and speaks plain
// HTTP. Hosts are given and returned as "127.0.0.1:PORT", the form a
// reference uses. Each server keeps a log of the requests it answered
// ([RequestLog]) so that a test can count round trips ("one HEAD") and see
// which of them carried credentials.
//
// # Auth
//
// [WithBasicAuth] makes the registry answer 401 with a Basic challenge;
// [WithTokenAuth] makes it answer with a Bearer challenge whose realm is a
// [TokenServer] run by this package. The token server signs ES256 JWTs
// carrying an x5c header with its own self-signed certificate, which the
// registry trusts through its rootcertbundle. Unlike distribution itself,
// which accepts a token up to 60 s after its exp, the registry front here
// rejects a token as soon as it has expired or [TokenServer.ExpireTokens]
// has been called, so expiry can be tested without waiting.
//
// # Faults
//
// A [FaultProxy] sits in front of any registry host and injects one fault
// per matching request from a queue: errors, 429s, connections cut after n
// bytes, corrupted or slow bodies, Range headers dropped. With
// [FaultProxy.RedirectBlobs] it answers blob GETs with a 307 to a
// [BlobMirror] on another port, which records whether credentials followed
// the redirect.
//
// # Logging
//
// The in-process registry logs through logrus' standard logger, a process
// global; [NewRegistry] lowers its level to fatal once per test binary so
// that `go test -v` stays readable (it logs every 4xx as an error). What went
// wrong is in the registry's answers and in the request logs.
package testutil
