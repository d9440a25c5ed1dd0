// Command startup measures the time from exec of a server to its first 200
// from a health URL, polling every 200 µs, and prints it in milliseconds.
//
//	startup -url http://127.0.0.1:3000/healthz -- ./gatehouse serve …
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:3000/healthz", "health URL")
	keep := flag.Bool("keep", false, "leave the server running and print its PID")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: startup -url URL -- COMMAND [ARGS]")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdout, cmd.Stderr = nil, nil
	client := &http.Client{Timeout: 100 * time.Millisecond}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	deadline := start.Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(*url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Printf("%.1f\n", float64(time.Since(start).Microseconds())/1000)
				if *keep {
					fmt.Println(cmd.Process.Pid)
					return
				}
				_ = cmd.Process.Signal(os.Interrupt)
				_ = cmd.Wait()
				return
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	_ = cmd.Process.Kill()
	fmt.Fprintln(os.Stderr, "no 200 within 10s")
	os.Exit(1)
}
