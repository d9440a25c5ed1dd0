// Command hashtime prints the median time of one password verification
// with the server's argon2id settings, in milliseconds, measured one at a
// time. bench/load.sh runs it next to each sign-in run: the sign-in bar is
// a share of cores ÷ this time, and on a shared machine the time moves from
// minute to minute, so it is measured in the same window.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/password"
)

func main() {
	n := flag.Int("n", 25, "verifications to time")
	flag.Parse()
	h := password.New(password.DefaultParams, 1)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "hash time sample passphrase")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	times := make([]time.Duration, 0, *n)
	for range *n {
		start := time.Now()
		if ok, err := h.Verify(ctx, enc, "hash time sample passphrase"); !ok || err != nil {
			fmt.Fprintln(os.Stderr, "verify:", ok, err)
			os.Exit(1)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	fmt.Printf("%.1f\n", float64(times[len(times)/2].Microseconds())/1000)
}
