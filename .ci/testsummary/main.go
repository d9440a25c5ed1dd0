// Command testsummary reads `go test -json` on standard input and prints a
// readable account: one line per package, the output of every failed test,
// and a closing "N passed, N failed, N skipped" line. It exits 1 when a
// test or a package failed, or when no test ran at all.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	var passed, failed, skipped int
	output := map[string]*strings.Builder{} // package/test → output
	var failures []string
	pkgFailed := false
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		line := in.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Println(string(line)) // build errors and anything not JSON
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output", "build-output":
			b := output[key]
			if b == nil {
				b = &strings.Builder{}
				output[key] = b
			}
			b.WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				status := map[string]string{"pass": "ok  ", "fail": "FAIL", "skip": "----"}[e.Action]
				fmt.Printf("%s %s %.1fs\n", status, e.Package, e.Elapsed)
				if e.Action == "fail" {
					pkgFailed = true
					if b := output[key]; b != nil && !strings.Contains(b.String(), "--- FAIL") {
						fmt.Print(b.String())
					}
				}
				continue
			}
			switch e.Action {
			case "pass":
				passed++
			case "fail":
				failed++
				failures = append(failures, key)
			case "skip":
				skipped++
			}
		}
	}
	sort.Strings(failures)
	for _, f := range failures {
		fmt.Printf("\n=== output of failed %s\n", f)
		if b := output[f]; b != nil {
			fmt.Print(b.String())
		}
	}
	fmt.Printf("\n%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || pkgFailed || passed == 0 {
		os.Exit(1)
	}
}
