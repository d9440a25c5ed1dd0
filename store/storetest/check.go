package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// equal checks that got is want as a store keeps it, comparing every field
// (so a field added to a type is checked by every test that reads one
// back): times in got must be UTC and equal want's truncated to the
// microsecond, and an empty byte slice is the same as nil (a store may
// return either for none). got and want are values or pointers of one
// struct type.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := difference(got, want); d != "" {
		t.Errorf("%s %s", what, d)
	}
}

// difference describes how got differs from want, as equal compares them,
// or returns "" when it does not.
func difference(got, want any) string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	if g.Kind() == reflect.Pointer {
		if g.IsNil() || w.IsNil() {
			if g.IsNil() != w.IsNil() {
				return fmt.Sprintf("= %v, want %v", got, want)
			}
			return ""
		}
		g, w = g.Elem(), w.Elem()
	}
	if bad := nonUTC(g, ""); bad != "" {
		return fmt.Sprintf("%s is not in UTC", bad)
	}
	gn, wn := normalised(g), normalised(w)
	if !reflect.DeepEqual(gn.Interface(), wn.Interface()) {
		return fmt.Sprintf("= %+v\nwant %+v (times in UTC at microseconds)", gn.Interface(), wn.Interface())
	}
	return ""
}

var timeType = reflect.TypeFor[time.Time]()

// normalised returns a copy of v with every time truncated to the
// microsecond in UTC and every empty byte slice nil.
func normalised(v reflect.Value) reflect.Value {
	switch {
	case v.Type() == timeType:
		tm := v.Interface().(time.Time)
		if tm.IsZero() {
			return reflect.ValueOf(time.Time{})
		}
		return reflect.ValueOf(tm.Truncate(time.Microsecond).UTC())
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(normalised(v.Elem()))
		return p
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		return v
	case v.Kind() == reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			c.Field(i).Set(normalised(v.Field(i)))
		}
		return c
	}
	return v
}

// nonUTC names the first time in v (a field path) whose location is not
// UTC, or returns "".
func nonUTC(v reflect.Value, path string) string {
	switch {
	case v.Type() == timeType:
		if tm := v.Interface().(time.Time); !tm.IsZero() && tm.Location() != time.UTC {
			return path
		}
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			return nonUTC(v.Elem(), path)
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if bad := nonUTC(v.Field(i), path+"."+v.Type().Field(i).Name); bad != "" {
				return bad
			}
		}
	}
	return ""
}

// race calls call(i) for each i below n from n goroutines released at
// once, as n requests arriving together would, and returns what each call
// returned.
func race[R any](n int, call func(i int) (R, error)) ([]R, []error) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	rs, errs := make([]R, n), make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			rs[i], errs[i] = call(i)
		})
	}
	close(start)
	wg.Wait()
	return rs, errs
}

// raceAll is race for calls that return only an error.
func raceAll(n int, call func(i int) error) []error {
	_, errs := race(n, func(i int) (struct{}, error) { return struct{}{}, call(i) })
	return errs
}

// noErrors checks that every one of concurrent calls succeeded.
func noErrors(t *testing.T, name string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s #%d: %v", name, i, err)
		}
	}
}

// oneWins checks that exactly one of concurrent calls returned true and
// none failed, and returns the winner's index.
func oneWins(t *testing.T, name string, won []bool, errs []error) int {
	t.Helper()
	noErrors(t, name, errs)
	winner := -1
	for i := range won {
		if won[i] {
			if winner >= 0 {
				t.Errorf("%s #%d and #%d both returned true", name, winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no %s returned true", name)
	}
	return winner
}

// oneSucceeds checks that exactly one of concurrent calls succeeded and
// every other failed with an error matching lost, and returns the winner's
// index.
func oneSucceeds(t *testing.T, name string, errs []error, lost error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("%s #%d and #%d both succeeded", name, winner, i)
			}
			winner = i
		case !errors.Is(err, lost):
			t.Errorf("%s #%d: %v; want nil or %v", name, i, err, lost)
		}
	}
	if winner < 0 {
		t.Fatalf("no %s succeeded", name)
	}
	return winner
}

// checkCountsOnce calls count from n goroutines released together and
// checks that the counter returned each of 1…n exactly once: increments
// made at the same instant are neither lost nor doubled.
func checkCountsOnce(t *testing.T, name string, n int, count func() (int, error)) {
	t.Helper()
	counts, errs := race(n, func(int) (int, error) { return count() })
	noErrors(t, name, errs)
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if got := slices.Sorted(slices.Values(counts)); !slices.Equal(got, want) {
		t.Errorf("concurrent %s returned %v, want each of 1…%d once", name, got, n)
	}
}

// call is one store call of a table of calls: its name for messages, and
// the call with the context to make it with.
type call struct {
	name string
	fn   func(context.Context) error
}

// checkUnknownIDs checks that each call, made for something the store does
// not have, fails with an error matching auth.ErrNotFound and not
// auth.ErrUnavailable (the flows answer "not found", not "try later").
// checkConsumesOnce checks a one-time use: the first call, at now, returns
// true and a second, a second later, returns false without an error.
func checkConsumesOnce(t *testing.T, name string, consume func(at time.Time) (bool, error)) {
	t.Helper()
	if ok, err := consume(now); err != nil || !ok {
		t.Fatalf("%s = %v, %v; want true", name, ok, err)
	}
	if ok, err := consume(now.Add(time.Second)); err != nil || ok {
		t.Fatalf("second %s = %v, %v; want false, nil", name, ok, err)
	}
}

// everyByteThen returns every byte value in order followed by tail: a
// secret or payload a store must keep as bytes, not as text.
func everyByteThen(tail []byte) []byte {
	b := make([]byte, 0, 256+len(tail))
	for i := range 256 {
		b = append(b, byte(i))
	}
	return append(b, tail...)
}

// raceConsume calls consume at once from 16 goroutines, each at its own
// millisecond after now, checks that exactly one wins, and returns the
// winner's time: the one a one-time use must record.
func raceConsume(t *testing.T, name string, consume func(at time.Time) (bool, error)) time.Time {
	t.Helper()
	at := func(i int) time.Time { return now.Add(time.Duration(i) * time.Millisecond) }
	won, errs := race(16, func(i int) (bool, error) { return consume(at(i)) })
	return at(oneWins(t, name, won, errs))
}

func checkUnknownIDs(t *testing.T, calls []call) {
	t.Helper()
	checkNotFound(t, "an unknown ID", calls)
}

// checkNotFound checks that every call, on what (a row that never was or
// is gone), returns auth.ErrNotFound and not auth.ErrUnavailable: the flows
// treat the two differently.
func checkNotFound(t *testing.T, what string, calls []call) {
	t.Helper()
	for _, c := range calls {
		err := c.fn(t.Context())
		wantErr(t, c.name+" of "+what, err, auth.ErrNotFound)
		if errors.Is(err, auth.ErrUnavailable) {
			t.Errorf("%s of %s: %v also matches ErrUnavailable", c.name, what, err)
		}
	}
}

// checkCancelled checks that call fails, promptly, with a cancelled
// context.
func checkCancelled(t *testing.T, name string, call func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("%s with a cancelled context succeeded", name)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s with a cancelled context hangs", name)
	}
}

// checkCancelledCalls checks each call with checkCancelled.
func checkCancelledCalls(t *testing.T, calls []call) {
	t.Helper()
	for _, c := range calls {
		checkCancelled(t, c.name, c.fn)
	}
}

// idsOf returns the IDs of xs, in order, through id: what list tests
// compare.
func idsOf[T any](xs []T, id func(T) string) []string {
	ids := []string{}
	for _, x := range xs {
		ids = append(ids, id(x))
	}
	return ids
}
