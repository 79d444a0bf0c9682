// Package testsuite provides the conformance tests every content.Store
// implementation runs, in one line from its own tests:
//
//	func TestStore(t *testing.T) {
//		testsuite.Run(t, func(t *testing.T) (context.Context, content.Store) { ... })
//	}
//
// The suite checks the contract of package content: commits and their
// checks, resumable ingests, ref locking, concurrent commits of one
// digest, labels, walks with filters, deletes under readers, and refusal
// of malformed digests and refs.
package testsuite
