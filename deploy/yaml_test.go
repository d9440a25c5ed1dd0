package deploy

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// parseYAML reads the subset of YAML that compose.yaml is written in, so
// the tests need no YAML library (go.mod has none): block mappings and
// sequences by indentation (spaces only), "- key: value" items, plain,
// single- and double-quoted scalars, flow sequences and mappings of
// scalars on one line, comments, anchors (&name), aliases (*name) and the
// merge key (<<: *name, explicit keys winning). Every scalar is a string,
// an empty value nil. Anything else (block scalars, tags, multi-line flow,
// documents, tabs) is an error naming its line, so the file cannot grow a
// construct these tests would misread.
func parseYAML(src string) (map[string]any, error) {
	p := &yamlParser{anchors: map[string]any{}}
	for i, raw := range strings.Split(src, "\n") {
		text := strings.TrimRight(stripComment(raw), " \r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		body := strings.TrimLeft(text, " ")
		if strings.HasPrefix(body, "\t") {
			return nil, fmt.Errorf("line %d: tab in indentation", i+1)
		}
		if body == "---" || body == "..." {
			return nil, fmt.Errorf("line %d: document markers are not supported", i+1)
		}
		p.lines = append(p.lines, yamlLine{num: i + 1, indent: len(text) - len(body), text: body})
	}
	if len(p.lines) == 0 {
		return map[string]any{}, nil
	}
	if p.lines[0].indent != 0 || isSeqItem(p.lines[0].text) {
		return nil, fmt.Errorf("line %d: the document must be a mapping at column 0", p.lines[0].num)
	}
	v, err := p.block(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].num)
	}
	return v.(map[string]any), nil
}

type yamlLine struct {
	num, indent int
	text        string // without indentation, comment or trailing spaces
}

type yamlParser struct {
	lines   []yamlLine
	i       int
	anchors map[string]any
}

// block parses the mapping or sequence whose lines start at column indent.
func (p *yamlParser) block(indent int) (any, error) {
	if isSeqItem(p.lines[p.i].text) {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

func (p *yamlParser) mapping(indent int) (map[string]any, error) {
	m := map[string]any{}
	var merges []map[string]any
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && !isSeqItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		key, rest, ok := splitKey(l.text)
		if !ok {
			return nil, fmt.Errorf("line %d: want key: value, got %q", l.num, l.text)
		}
		p.i++
		v, err := p.value(l, indent, rest)
		if err != nil {
			return nil, err
		}
		if key == "<<" {
			mm, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("line %d: << must merge a mapping", l.num)
			}
			merges = append(merges, mm)
			continue
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", l.num, key)
		}
		m[key] = v
	}
	for _, mm := range merges {
		for k, v := range mm {
			if _, set := m[k]; !set {
				m[k] = v
			}
		}
	}
	return m, nil
}

func (p *yamlParser) sequence(indent int) ([]any, error) {
	s := []any{}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && isSeqItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		rest := strings.TrimLeft(l.text[1:], " ")
		if _, _, isMap := splitKey(rest); isMap && rest != "" {
			// "- key: value": a mapping whose keys line up with key.
			p.lines[p.i] = yamlLine{num: l.num, indent: indent + len(l.text) - len(rest), text: rest}
			m, err := p.mapping(p.lines[p.i].indent)
			if err != nil {
				return nil, err
			}
			s = append(s, m)
			continue
		}
		p.i++
		v, err := p.value(l, indent, rest)
		if err != nil {
			return nil, err
		}
		s = append(s, v)
	}
	return s, nil
}

// value parses what follows a key or a dash on line l: an anchor, then a
// scalar, an alias, a flow collection or (nothing on the line) the block
// indented below it.
func (p *yamlParser) value(l yamlLine, indent int, rest string) (any, error) {
	var anchor string
	if strings.HasPrefix(rest, "&") {
		anchor, rest, _ = strings.Cut(rest[1:], " ")
		rest = strings.TrimSpace(rest)
		if anchor == "" {
			return nil, fmt.Errorf("line %d: empty anchor", l.num)
		}
	}
	var v any
	var err error
	switch {
	case rest != "":
		v, err = p.scalar(rest)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.num, err)
		}
	case p.i < len(p.lines) && p.lines[p.i].indent > indent:
		v, err = p.block(p.lines[p.i].indent)
		if err != nil {
			return nil, err
		}
		if p.i < len(p.lines) && p.lines[p.i].indent > indent {
			return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].num)
		}
	}
	if anchor != "" {
		p.anchors[anchor] = v
	}
	return v, nil
}

// scalar parses a one-line value.
func (p *yamlParser) scalar(s string) (any, error) {
	switch {
	case strings.HasPrefix(s, "*"):
		v, ok := p.anchors[s[1:]]
		if !ok {
			return nil, fmt.Errorf("unknown alias %s", s)
		}
		return v, nil
	case strings.HasPrefix(s, "["):
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("a flow sequence must end on its line: %s", s)
		}
		items, err := splitFlow(s[1 : len(s)-1])
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, it := range items {
			v, err := p.plainOrQuoted(it)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case strings.HasPrefix(s, "{"):
		if !strings.HasSuffix(s, "}") {
			return nil, fmt.Errorf("a flow mapping must end on its line: %s", s)
		}
		items, err := splitFlow(s[1 : len(s)-1])
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		for _, it := range items {
			k, v, ok := splitKey(it)
			if !ok {
				return nil, fmt.Errorf("want key: value in %s", s)
			}
			sv, err := p.plainOrQuoted(v)
			if err != nil {
				return nil, err
			}
			out[k] = sv
		}
		return out, nil
	}
	return p.plainOrQuoted(s)
}

func (p *yamlParser) plainOrQuoted(s string) (any, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, nil
	case s[0] == '"':
		v, err := strconv.Unquote(s)
		if err != nil {
			return nil, fmt.Errorf("bad double-quoted scalar %s", s)
		}
		return v, nil
	case s[0] == '\'':
		if len(s) < 2 || s[len(s)-1] != '\'' {
			return nil, fmt.Errorf("bad single-quoted scalar %s", s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case strings.ContainsRune("|>!&*[]{}%@`", rune(s[0])):
		return nil, fmt.Errorf("unsupported YAML: %s", s)
	}
	return s, nil
}

// splitFlow splits a flow collection's inside at the commas outside
// quotes; nested collections are refused.
func splitFlow(s string) ([]string, error) {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			return nil, fmt.Errorf("nested flow collections are not supported: %s", s)
		case c == ',':
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %s", s)
	}
	if last := strings.TrimSpace(s[start:]); last != "" || len(out) > 0 {
		out = append(out, last)
	}
	return out, nil
}

// splitKey splits "key: value" (or "key:") at the first colon followed by
// a space or the end. Keys are plain: letters, digits and _ . - / <.
func splitKey(s string) (key, rest string, ok bool) {
	i := strings.Index(s, ": ")
	if i < 0 {
		if !strings.HasSuffix(s, ":") {
			return "", "", false
		}
		i = len(s) - 1
	}
	key = s[:i]
	if key == "" || strings.IndexFunc(key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.-/<", r))
	}) >= 0 {
		return "", "", false
	}
	return key, strings.TrimSpace(s[i+1:]), true
}

func isSeqItem(s string) bool { return s == "-" || strings.HasPrefix(s, "- ") }

// stripComment removes a # comment: one at the start of the line or after
// a space, outside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

func TestParseYAML(t *testing.T) {
	t.Parallel()
	const doc = `# a comment
base: &base
  image: app:1 # trailing comment
  env:
    A: "x # not a comment"
    B: 'it''s'
  list: [a, "b, c", '']
services:
  one:
    <<: *base
    image: app:2
  two:
    <<: *base
nets:
  - subnet: 10.0.0.0/24
    gateway: 10.0.0.1
  - plain
  -
    nested: {k: v, n: "1"}
empty:
url: postgres://u:${P:?set P}@db:5432/x?sslmode=disable
`
	got, err := parseYAML(doc)
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]any{
		"image": "app:1",
		"env":   map[string]any{"A": "x # not a comment", "B": "it's"},
		"list":  []any{"a", "b, c", ""},
	}
	one := map[string]any{"image": "app:2", "env": base["env"], "list": base["list"]}
	want := map[string]any{
		"base":     base,
		"services": map[string]any{"one": one, "two": base},
		"nets": []any{
			map[string]any{"subnet": "10.0.0.0/24", "gateway": "10.0.0.1"},
			"plain",
			map[string]any{"nested": map[string]any{"k": "v", "n": "1"}},
		},
		"empty": nil,
		"url":   "postgres://u:${P:?set P}@db:5432/x?sslmode=disable",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}

	for _, bad := range []string{
		"a:\n\tb: 1\n",           // tab
		"a: |\n  text\n",         // block scalar
		"a: *nowhere\n",          // unknown alias
		"a: 1\na: 2\n",           // duplicate key
		"a: [b, [c]]\n",          // nested flow
		"a: [b,\n  c]\n",         // multi-line flow
		"a:\n  b: 1\n    c: 2\n", // bad indentation
		"- a\n",                  // not a mapping
		"a: !!str b\n",           // tag
		"a: \"open\n",            // unterminated quote
		"---\na: 1\n",            // document marker
	} {
		if _, err := parseYAML(bad); err == nil {
			t.Errorf("parseYAML(%q) = nil error", bad)
		}
	}
}
