// Package filters provides a parser and matcher for containerd's filter
// syntax, the strings accepted by commands such as
//
//	ctr images ls 'labels."foo"==bar'
//	ctr events --filter 'topic~=/images/.*'
//
// [Parse] turns one or more filter strings into a [Filter]. A Filter knows
// nothing about the objects it selects: it asks an [Adaptor] for the value
// of each field path it mentions, so any type can be filtered by writing a
// small adaptor for it (see [AdaptorFunc]).
//
// # Selectors
//
// A filter string is a list of selectors separated by commas. A selector is
// either a field path alone, which tests that the field is present, or a
// field path, an operator and a value:
//
//	name                    the field "name" is present
//	name==foo               name is exactly "foo"
//	name!=foo               name is not "foo" (or is absent)
//	name~=^foo.*            name matches the regular expression ^foo.*
//
// White space around field names, dots, operators, values and commas is
// ignored, so "name == foo , labels.bar" is the same filter as
// "name==foo,labels.bar".
//
// # Field paths
//
// A field path is one or more components separated by dots. A component is
// an identifier (a letter or underscore followed by letters, digits and
// underscores) or a double-quoted string using Go's escape sequences. Quote
// any component that is not an identifier, such as a label key containing
// dots or slashes:
//
//	labels.env==prod
//	labels."io.containerd/gc.root"
//	labels."key with spaces"==x
//
// The adaptor receives the decoded components, for example
// []string{"labels", "io.containerd/gc.root"}.
//
// # Values and quoting
//
// A bare value is the run of characters after the operator up to the next
// comma or white space. It may contain any other characters, including
// '/', ':', '.', '-', '=' and '*':
//
//	image==docker.io/library/busybox:latest
//	topic==/tasks/exit
//
// A value containing a comma or white space must be quoted. Double quotes
// work everywhere and use Go's escape sequences:
//
//	name=="a, b"
//	name=="tab\there"
//
// After ~= a value may also be quoted with slashes or pipes, as in
// containerd, so that a regular expression can contain commas:
//
//	name~=/^[a-z]{1,3}$/
//	name~=|^/images/.*|
//
// Inside /.../ the sequence \/ stands for a slash, and inside |...| \| stands
// for a pipe; all other backslashes are Go escape sequences, exactly as in a
// double-quoted string. A backslash meant for the regular expression must
// therefore be doubled: /\\d+/ is the regexp \d+. Such a value counts as
// quoted only if the closing delimiter is followed by a comma or the end of
// the filter; otherwise the whole value is read as a bare value. So
// topic~=/images/.* is the regexp "/images/.*", while topic~=/images/ is
// the regexp "images". After == and != only double quotes are quotes, and
// a leading '/' or '|' is part of a bare value.
//
// A bare value cannot begin with '=', '!', '~', '<' or '>', because those
// characters are read as part of the operator; quote such values.
//
// # Operators and missing fields
//
// The adaptor reports whether a field is present. The operators treat an
// absent field as follows:
//
//   - fieldpath alone matches only when the field is present.
//   - == matches only when the field is present and equal to the value.
//   - != is the negation of ==: it matches when the field is absent or its
//     value differs. So labels.env!=prod selects objects with no env label.
//   - ~= matches only when the field is present and the regular expression
//     matches its value.
//
// Regular expressions use Go's RE2 syntax and are unanchored, as with
// [regexp.Regexp.MatchString]: name~=foo matches "seafood". Use ^ and $ to
// anchor. They are compiled by Parse, so an invalid one is a parse error.
//
// # Combining filters
//
// Selectors within one filter string are AND'ed: all must match. Separate
// filter strings passed to [Parse] are OR'ed: any may match.
//
//	Parse("name==foo,labels.env==prod")       // foo in prod
//	Parse("name==foo", "labels.env==prod")    // foo, or anything in prod
//	Parse()                                   // everything ([Always])
//
// An empty (or all white space) filter string is an error rather than a
// way of matching everything; pass no strings for that.
//
// # Errors and limits
//
// Every error returned by Parse wraps [errdefs.ErrInvalidArgument] and quotes
// the filter, the byte offset of the problem and what was wrong:
//
//	filter "labels.==x": position 7: expected field name: invalid argument
//
// A filter string longer than 4096 bytes is refused, as is a regular
// expression longer than 1024 bytes or one that compiles to more than 4096
// instructions: matching time grows with program size, and counted
// repetition makes short patterns large (.{1000} five times over is 35
// bytes but 5002 instructions). Filter strings must be valid UTF-8.
package filters
