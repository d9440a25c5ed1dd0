package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store/redisstore"
	"github.com/gatehouse/gatehouse/store/redisstore/redistest"
)

func TestOpenURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, wantErr string
	}{
		{"redis://127.0.0.1:1/0", ""},
		{"rediss://:pw@127.0.0.1:1/2", ""},
		{"redis://127.0.0.1:1?master_name=main&addr=127.0.0.1:2", ""},
		{"redis://127.0.0.1:1?addr=127.0.0.1:2", ""},
		{"http://127.0.0.1:6379", "want redis://"},
		{"redis://", "want redis://"},
		{"redis://:s3cret@127.0.0.1:1/x", "redis URL"},
		{"redis://:s3cret@127.0.0.1:1/0?bogus=1", "redis URL"},
	} {
		c, err := redisstore.Open(context.Background(), tc.url, redisstore.Options{Timeout: 50 * time.Millisecond})
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("Open(%q): %v", tc.url, err)
				continue
			}
			if c.Up() {
				t.Errorf("Open(%q): up, with nothing listening", tc.url)
			}
			_ = c.Close()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Open(%q): %v, want %q", tc.url, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q): the error shows the password: %v", tc.url, err)
		}
	}
}

// Redis stops: the Client says so; it starts again: the Client notices
// within a few seconds by itself and runs its OnUp hooks.
func TestHealthFollowsAnOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := redistest.Open(t, srv.URL)
	if !c.Up() {
		t.Fatal("down at start")
	}
	back := make(chan struct{}, 1)
	c.OnUp(func() { back <- struct{}{} })
	srv.Stop()
	if err := c.Report(c.Ping(t.Context())); err == nil || c.Up() {
		t.Fatalf("ping with Redis stopped: %v, up %v", err, c.Up())
	}
	srv.Start()
	select {
	case <-back:
	case <-time.After(10 * time.Second):
		t.Fatal("the Client did not notice Redis came back")
	}
	if !c.Up() {
		t.Error("down after Redis came back")
	}
}
