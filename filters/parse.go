package filters

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/containerd/errdefs"
)

const (
	// maxFilterLen bounds the length in bytes of one filter string.
	maxFilterLen = 4096
	// maxRegexpLen bounds the length in bytes of one regular expression,
	// measured after its quotes have been removed.
	maxRegexpLen = 1024
	// maxRegexpInsts bounds the size of a compiled regular expression.
	// Matching costs up to (program size × input length) steps, and
	// counted repetition lets a short pattern compile to a large program:
	// .{1000} repeated five times is 35 bytes but 5002 instructions.
	maxRegexpInsts = 4096
)

// Parse compiles filter strings into a [Filter].
//
// Each string is a comma-separated list of selectors, all of which must
// match; the strings themselves are alternatives, any one of which may
// match. With no strings at all the result is [Always]. An empty string is
// not a way to say "everything" and is rejected. See the package
// documentation for the grammar.
//
// Every error wraps [errdefs.ErrInvalidArgument] and names the offending
// filter and the byte position of the problem.
func Parse(filters ...string) (Filter, error) {
	if len(filters) == 0 {
		return Always, nil
	}
	alts := make(anyOf, 0, len(filters))
	for _, s := range filters {
		f, err := parseOne(s)
		if err != nil {
			return nil, err
		}
		alts = append(alts, f)
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return alts, nil
}

// parseOne compiles a single filter string.
func parseOne(s string) (Filter, error) {
	if len(s) > maxFilterLen {
		return nil, fmt.Errorf("filter %q (%d bytes): longer than the limit of %d bytes: %w",
			truncate(s, 40), len(s), maxFilterLen, errdefs.ErrInvalidArgument)
	}
	p := &parser{input: s}
	if !utf8.ValidString(s) {
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, p.errorf(i, "invalid UTF-8")
	}
	return p.parse()
}

// truncate shortens s to at most n bytes without splitting a rune, marking
// the cut with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// parser is a hand-written recursive-descent parser over one filter
// string. pos is a byte offset into input.
type parser struct {
	input string
	pos   int
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return fmt.Errorf("filter %q: position %d: %s: %w",
		p.input, pos, fmt.Sprintf(format, args...), errdefs.ErrInvalidArgument)
}

func (p *parser) eof() bool { return p.pos >= len(p.input) }

// peek returns the rune at the current position, or -1 at the end.
func (p *parser) peek() rune {
	if p.eof() {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(p.input[p.pos:])
	return r
}

// describe names the input at pos for an error message.
func (p *parser) describe(pos int) string {
	if pos >= len(p.input) {
		return "end of filter"
	}
	r, _ := utf8.DecodeRuneInString(p.input[pos:])
	return strconv.QuoteRune(r)
}

// skipSpace advances past white space.
func (p *parser) skipSpace() {
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.input[p.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		p.pos += n
	}
}

// atSelectorEnd reports whether, after optional white space, the input is
// at a comma or at the end. It leaves pos after the white space.
func (p *parser) atSelectorEnd() bool {
	p.skipSpace()
	return p.eof() || p.input[p.pos] == ','
}

func (p *parser) parse() (Filter, error) {
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "empty filter")
	}
	var sels allOf
	for {
		sel, err := p.selector()
		if err != nil {
			return nil, err
		}
		sels = append(sels, sel)
		// selector leaves pos at a comma or at the end.
		if p.eof() {
			return sels, nil
		}
		comma := p.pos
		p.pos++
		p.skipSpace()
		switch {
		case p.eof():
			return nil, p.errorf(comma, "trailing comma")
		case p.input[p.pos] == ',':
			return nil, p.errorf(p.pos, "empty selector between commas")
		}
	}
}

// selector parses `fieldpath [op value]` and checks that it is followed by
// a comma or the end of input.
func (p *parser) selector() (*selector, error) {
	path, err := p.fieldPath()
	if err != nil {
		return nil, err
	}
	if p.atSelectorEnd() {
		return &selector{path: path, op: opPresent}, nil
	}
	op, err := p.operator()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	valuePos := p.pos
	value, err := p.value(op)
	if err != nil {
		return nil, err
	}
	sel := &selector{path: path, op: op, value: value}
	if op == opMatch {
		if len(value) > maxRegexpLen {
			return nil, p.errorf(valuePos, "regexp of %d bytes is longer than the limit of %d bytes",
				len(value), maxRegexpLen)
		}
		sel.re, err = compileRegexp(value)
		if err != nil {
			return nil, p.errorf(valuePos, "%v", err)
		}
	}
	if !p.atSelectorEnd() {
		return nil, p.errorf(p.pos, "unexpected %s after value (quote values that contain white space)",
			p.describe(p.pos))
	}
	return sel, nil
}

// compileRegexp compiles a regular expression after checking that its
// program is not too large to match in reasonable time.
func compileRegexp(expr string) (*regexp.Regexp, error) {
	// These are the steps regexp.Compile takes, so the size measured is
	// the size of the program that will run.
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("invalid regexp: %w", err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, fmt.Errorf("invalid regexp: %w", err)
	}
	if n := len(prog.Inst); n > maxRegexpInsts {
		return nil, fmt.Errorf("regexp too complex: compiles to %d instructions, more than the limit of %d "+
			"(reduce counted repetitions such as {1000})", n, maxRegexpInsts)
	}
	compiled, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid regexp: %w", err)
	}
	return compiled, nil
}

// fieldPath parses components separated by dots.
func (p *parser) fieldPath() ([]string, error) {
	var path []string
	for {
		p.skipSpace()
		c, err := p.component()
		if err != nil {
			return nil, err
		}
		path = append(path, c)
		p.skipSpace()
		if p.peek() != '.' {
			return path, nil
		}
		p.pos++
	}
}

// component parses one identifier or double-quoted field name.
func (p *parser) component() (string, error) {
	start := p.pos
	if p.peek() == '"' {
		return p.quoted('"')
	}
	for !p.eof() {
		c := p.input[p.pos]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
			p.pos > start && '0' <= c && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	if p.pos == start {
		return "", p.errorf(start, "expected field name")
	}
	return p.input[start:p.pos], nil
}

// operator parses one of ==, != or ~=. A run of operator-like characters
// is read whole so that typos such as "=", "===" or ">=" are reported as
// unknown operators rather than silently absorbed into the value.
func (p *parser) operator() (op, error) {
	start := p.pos
	for !p.eof() && strings.IndexByte("=!~<>", p.input[p.pos]) >= 0 {
		p.pos++
	}
	switch tok := p.input[start:p.pos]; tok {
	case "==":
		return opEqual, nil
	case "!=":
		return opNotEqual, nil
	case "~=":
		return opMatch, nil
	case "":
		return 0, p.errorf(start, "unexpected %s after field path (want an operator, a comma, or the end; "+
			`quote field names that are not identifiers, as in labels."example.com/key")`, p.describe(start))
	default:
		return 0, p.errorf(start, `unknown operator %q (want "==", "!=" or "~=")`, tok)
	}
}

// value parses the operand of an operator: a double-quoted string, a
// /.../ or |...| quoted regexp (after ~= only), or a bare run of
// characters up to the next comma or white space.
func (p *parser) value(o op) (string, error) {
	start := p.pos
	switch c := p.peek(); {
	case c == '"':
		return p.quoted('"')
	case o == opMatch && (c == '/' || c == '|'):
		// Treat the value as quoted only if the closing delimiter ends the
		// selector; otherwise (topic~=/tasks/.*) it is a bare value that
		// happens to begin with the delimiter.
		if end, ok := p.scanQuoted(byte(c)); ok {
			p.pos = end
			if p.atSelectorEnd() {
				p.pos = start
				return p.quoted(byte(c))
			}
		}
		p.pos = start
	}
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.input[p.pos:])
		if r == ',' || unicode.IsSpace(r) {
			break
		}
		if unicode.IsControl(r) {
			return "", p.errorf(p.pos, "control character %s in value (use a quoted value with an escape)",
				strconv.QuoteRune(r))
		}
		p.pos += n
	}
	if p.pos == start {
		return "", p.errorf(start, "expected value, found %s", p.describe(start))
	}
	return p.input[start:p.pos], nil
}

// scanQuoted finds the end of a quoted string that opens with delim at the
// current position. It returns the offset just past the closing delimiter,
// or false if the string is not closed before a newline or the end.
func (p *parser) scanQuoted(delim byte) (int, bool) {
	for i := p.pos + 1; i < len(p.input); i++ {
		switch p.input[i] {
		case '\\':
			i++ // skip the escaped byte; delimiters are ASCII
		case '\n':
			return 0, false
		case delim:
			return i + 1, true
		}
	}
	return 0, false
}

// quoted parses and decodes a quoted string opening with delim at the
// current position, leaving pos after the closing delimiter.
//
// The body uses Go's double-quoted escapes. With delim '"' that is exactly
// a Go string literal. With '/' or '|' the escaped delimiter (\/ or \|)
// stands for itself, an unescaped '"' is ordinary, and \" is not allowed.
func (p *parser) quoted(delim byte) (string, error) {
	open := p.pos
	end, ok := p.scanQuoted(delim)
	if !ok {
		return "", p.errorf(open, "unterminated quoted string (missing closing %c)", delim)
	}
	body := p.input[open+1 : end-1]
	quote := byte(0) // strconv.UnquoteChar: neither \" nor \' allowed
	if delim == '"' {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(body))
	for rest := body; len(rest) > 0; {
		if delim != '"' && len(rest) >= 2 && rest[0] == '\\' && rest[1] == delim {
			b.WriteByte(delim)
			rest = rest[2:]
			continue
		}
		r, multibyte, tail, err := strconv.UnquoteChar(rest, quote)
		if err != nil {
			at := open + 1 + len(body) - len(rest)
			seq := rest[:1]
			if len(rest) > 1 {
				_, n := utf8.DecodeRuneInString(rest[1:])
				seq = rest[:1+n]
			}
			return "", p.errorf(at, "invalid escape sequence %q in quoted string", seq)
		}
		if r < utf8.RuneSelf || !multibyte {
			b.WriteByte(byte(r))
		} else {
			b.WriteRune(r)
		}
		rest = tail
	}
	p.pos = end
	return b.String(), nil
}
