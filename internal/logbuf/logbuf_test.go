package logbuf

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBuffersUntilCloseOrFlush(t *testing.T) {
	t.Parallel()
	dst := &syncBuf{}
	w := New(dst, 1024, time.Hour)
	_, _ = w.Write([]byte("one\n"))
	if got := dst.String(); got != "" {
		t.Fatalf("written before a flush: %q", got)
	}
	if err := w.Flush(); err != nil || dst.String() != "one\n" {
		t.Fatalf("after Flush: %q, %v", dst.String(), err)
	}
	_, _ = w.Write([]byte("two\n"))
	if err := w.Close(); err != nil || dst.String() != "one\ntwo\n" {
		t.Fatalf("after Close: %q, %v", dst.String(), err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestFlushesOnTimer(t *testing.T) {
	t.Parallel()
	dst := &syncBuf{}
	w := New(dst, 1024, 5*time.Millisecond)
	defer w.Close()
	_, _ = w.Write([]byte("line\n"))
	deadline := time.Now().Add(5 * time.Second)
	for dst.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the timer never flushed")
		}
		time.Sleep(time.Millisecond)
	}
}

// A full buffer goes out before the next line, and lines stay whole.
func TestFullBufferFlushesWholeLines(t *testing.T) {
	t.Parallel()
	dst := &syncBuf{}
	w := New(dst, 16, time.Hour)
	_, _ = w.Write([]byte("0123456789\n"))
	_, _ = w.Write([]byte("abcdefghij\n")) // does not fit beside the first
	if got := dst.String(); got != "0123456789\n" {
		t.Fatalf("after overflowing: %q, want the first line whole", got)
	}
	_ = w.Close()
	if got := dst.String(); got != "0123456789\nabcdefghij\n" {
		t.Fatalf("after Close: %q", got)
	}
}

func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	dst := &syncBuf{}
	w := New(dst, 256, time.Millisecond)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = w.Write([]byte(strings.Repeat(string(rune('a'+i)), 9) + "\n"))
			}
		}()
	}
	wg.Wait()
	_ = w.Close()
	lines := strings.Split(strings.TrimSuffix(dst.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if len(l) != 9 || strings.Count(l, l[:1]) != 9 {
			t.Fatalf("a line was torn: %q", l)
		}
	}
}
