package access

import (
	"fmt"
	"sync/atomic"
)

// Policy is the rules in force, read from a file and swapped whole by
// Reload: a check sees the old rules or the new ones, never a mix. Safe
// for concurrent use.
type Policy struct {
	file string
	cur  atomic.Pointer[Rules]
}

// NewPolicy loads the rules file (none when file is "": signed in is
// enough everywhere). A bad file is an error that names the file, the
// rule and the problem, for start-up to stop with.
func NewPolicy(file string) (*Policy, error) {
	p := &Policy{file: file}
	rs := &Rules{}
	if file != "" {
		var err error
		if rs, err = Load(file); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	p.cur.Store(rs)
	return p, nil
}

// Rules returns the rules in force.
func (p *Policy) Rules() *Rules { return p.cur.Load() }

// Reload reads the file again and puts its rules in force. A bad file
// changes nothing: the rules in force stay, and the error says why.
func (p *Policy) Reload() (*Rules, error) {
	if p.file == "" {
		return p.cur.Load(), nil
	}
	rs, err := Load(p.file)
	if err != nil {
		return p.cur.Load(), fmt.Errorf("%s: %w (the rules in force are kept)", p.file, err)
	}
	p.cur.Store(rs)
	return rs, nil
}
