// Command bare is the ceiling for load runs: a net/http server whose only
// handler writes 200. Whatever /v1/check reaches is compared with it on the
// same machine in the same run.
//
// With -answer FILE it answers every request with the response in FILE
// instead (as `curl -si` saved it: status line, headers, body), and with
// gatehouse serve's server timeouts: the check's own answer, written by a
// handler that does nothing else. That separates what the answer's shape
// costs net/http (reading a long Authorization header, writing ten headers
// and a body, the per-connection deadlines) from what Gatehouse's work
// costs.
package main

import (
	"bufio"
	"flag"
	"log"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3999", "listen address")
	answer := flag.String("answer", "", "a response saved by curl -si, to answer every request with")
	flag.Parse()
	if *answer == "" {
		log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
		})))
	}
	f, err := os.Open(*answer)
	if err != nil {
		log.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(f), nil)
	if err != nil {
		log.Fatalf("read %s: %v", *answer, err)
	}
	var body strings.Builder
	if _, err := bufio.NewReader(res.Body).WriteTo(&body); err != nil {
		log.Fatalf("read %s: %v", *answer, err)
	}
	header := res.Header.Clone()
	header.Del("Date")
	header.Del("Content-Length")
	srv := &http.Server{
		Addr: *addr,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.Header.Get("Authorization")
			h := w.Header()
			for k, v := range header {
				h[k] = v
			}
			w.WriteHeader(res.StatusCode)
			_, _ = w.Write([]byte(body.String()))
		}),
		// gatehouse serve's.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	log.Fatal(srv.ListenAndServe())
}
