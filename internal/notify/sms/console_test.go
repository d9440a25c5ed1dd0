package sms_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/sms"
)

func TestConsolePrintsMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  notify.SMS
		want string
	}{
		{
			name: "one line",
			msg:  notify.SMS{To: "+447911123456", Text: "Your Gatehouse code is 482913"},
			want: "----- sms -----\nTo: +447911123456\n\nYour Gatehouse code is 482913\n---------------\n",
		},
		{
			name: "ends with a newline",
			msg:  notify.SMS{To: "+15550100", Text: "482913 is your code.\n@auth.example.com #482913\n"},
			want: "----- sms -----\nTo: +15550100\n\n482913 is your code.\n@auth.example.com #482913\n---------------\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			s, err := sms.New("console:", sms.Options{Console: &out})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SendSMS(context.Background(), tt.msg); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tt.want {
				t.Errorf("console printed\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// tricklingWriter writes byte by byte, yielding in between, so unguarded
// concurrent writes would interleave; it is not safe for concurrent use,
// so the race detector also sees a missing lock.
type tricklingWriter struct{ buf []byte }

func (w *tricklingWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		w.buf = append(w.buf, b)
		runtime.Gosched()
	}
	return len(p), nil
}

func TestConsoleConcurrentMessagesDoNotInterleave(t *testing.T) {
	t.Parallel()
	w := &tricklingWriter{}
	s, err := sms.New("console:", sms.Options{Console: w})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := notify.SMS{To: fmt.Sprintf("+4479111234%02d", i), Text: fmt.Sprintf("code %02d\nline two %02d", i, i)}
			if err := s.SendSMS(context.Background(), m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	out := string(w.buf)
	blocks := strings.SplitAfter(out, "---------------\n")
	if len(blocks) != n+1 || blocks[n] != "" {
		t.Fatalf("console printed %d blocks, want %d:\n%s", len(blocks)-1, n, out)
	}
	seen := map[string]bool{}
	for _, b := range blocks[:n] {
		var i int
		if _, err := fmt.Sscanf(b, "----- sms -----\nTo: +4479111234%02d\n", &i); err != nil {
			t.Fatalf("block %q: %v", b, err)
		}
		want := fmt.Sprintf("----- sms -----\nTo: +4479111234%02d\n\ncode %02d\nline two %02d\n---------------\n", i, i, i)
		if b != want {
			t.Errorf("block\n%q\nwant\n%q", b, want)
		}
		seen[b] = true
	}
	if len(seen) != n {
		t.Errorf("console printed %d distinct messages, want %d", len(seen), n)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestConsoleWriteError(t *testing.T) {
	t.Parallel()
	s, err := sms.New("console:", sms.Options{Console: failingWriter{}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.SendSMS(context.Background(), testSMS)
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "sms: console") {
		t.Errorf("SendSMS to a failing writer = %v", err)
	}
}
