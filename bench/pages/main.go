// Command pages reports which pages of a running program's binary are
// resident in its address space (/proc/PID/pagemap, so run it as root):
// per ELF section, the parts of .gopclntab, and the resident text, read-only
// data and writable data attributed to packages through the symbol table
// of `go tool nm -size -sort address BINARY`.
//
//	go tool nm -size -sort address ./gatehouse >nm.txt
//	pages -pid $(pgrep -f 'gatehouse serve') -bin ./gatehouse -nm nm.txt
//
// The kernel maps up to 64 KB of page cache around each page fault on a
// file (fault-around), so a resident page was not necessarily touched: a
// package's figure is the bytes of its symbols that lie on resident pages.
package main

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"
)

type symbol struct {
	addr, size uint64
	name       string
}

func main() {
	pid := flag.Int("pid", 0, "process to read")
	bin := flag.String("bin", "", "the process's executable (its path as /proc/PID/maps names it)")
	nm := flag.String("nm", "", "output of go tool nm -size -sort address BINARY (optional)")
	top := flag.Int("top", 25, "packages listed per mapping")
	flag.Parse()
	if *pid == 0 || *bin == "" {
		flag.Usage()
		os.Exit(2)
	}
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", *pid))
	if err != nil {
		log.Fatal(err)
	}
	defer pm.Close()
	resident := func(addr uint64) bool {
		var b [8]byte
		if _, err := pm.ReadAt(b[:], int64(addr/4096*8)); err != nil {
			log.Fatal(err)
		}
		return binary.LittleEndian.Uint64(b[:])&(1<<63) != 0
	}
	sections(*bin, resident)
	if *nm != "" {
		packages(*pid, *bin, *nm, *top, resident)
	}
}

// count returns how many of the pages over [lo, hi) are resident, and of
// how many.
func count(lo, hi uint64, resident func(uint64) bool) (n, of int) {
	for p := lo &^ 4095; p < hi; p += 4096 {
		of++
		if resident(p) {
			n++
		}
	}
	return n, of
}

// sections prints the resident share of each allocated ELF section, and of
// the tables inside .gopclntab (its header gives their offsets).
func sections(bin string, resident func(uint64) bool) {
	f, err := elf.Open(bin)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, s := range f.Sections {
		if s.Addr == 0 || s.Size < 16<<10 {
			continue
		}
		n, of := count(s.Addr, s.Addr+s.Size, resident)
		fmt.Printf("%-14s %8d KiB of %8d KiB resident (%.0f %%)\n", s.Name, n*4, of*4, 100*float64(n)/float64(of))
	}
	s := f.Section(".gopclntab")
	if s == nil {
		return
	}
	d, err := s.Data()
	if err != nil || len(d) < 64 {
		return
	}
	word := func(i int) uint64 { return binary.LittleEndian.Uint64(d[8+8*i:]) }
	offs := []uint64{word(3), word(4), word(5), word(6), word(7), s.Size}
	for i, name := range []string{"funcnametab", "cutab", "filetab", "pctab", "functab+_func"} {
		n, of := count(s.Addr+offs[i], s.Addr+offs[i+1], resident)
		fmt.Printf("  .gopclntab %-14s %6d KiB of %6d KiB resident\n", name, n*4, of*4)
	}
}

// packages prints, for each mapping of bin in process pid, the bytes of
// each package's symbols on resident pages, most first.
func packages(pid int, bin, nmFile string, top int, resident func(uint64) bool) {
	syms := readSymbols(nmFile)
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		log.Fatal(err)
	}
	for line := range strings.SplitSeq(string(maps), "\n") {
		if !strings.HasSuffix(line, " "+bin) {
			continue
		}
		fields := strings.Fields(line)
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		bytes := map[string]uint64{}
		for p := start; p < end; p += 4096 {
			if !resident(p) {
				continue
			}
			covered := uint64(0)
			i := sort.Search(len(syms), func(i int) bool { return syms[i].addr+syms[i].size > p })
			for ; i < len(syms) && syms[i].addr < p+4096; i++ {
				a, b := max(syms[i].addr, p), min(syms[i].addr+syms[i].size, p+4096)
				if b > a {
					bytes[pkgOf(syms[i].name)] += b - a
					covered += b - a
				}
			}
			bytes["(no symbol: type data, pclntab, …)"] += 4096 - min(covered, 4096)
		}
		names := make([]string, 0, len(bytes))
		for k := range bytes {
			names = append(names, k)
		}
		sort.Slice(names, func(i, j int) bool { return bytes[names[i]] > bytes[names[j]] })
		fmt.Printf("== %s %s\n", fields[0], fields[1])
		for i, k := range names {
			if i == top {
				break
			}
			fmt.Printf("%8d KiB %s\n", bytes[k]>>10, k)
		}
	}
}

func readSymbols(name string) []symbol {
	f, err := os.Open(name)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var syms []symbol
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			continue
		}
		addr, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil {
			continue
		}
		size, _ := strconv.ParseUint(fields[1], 10, 64)
		syms = append(syms, symbol{addr, size, strings.Join(fields[3:], " ")})
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	sort.Slice(syms, func(i, j int) bool { return syms[i].addr < syms[j].addr })
	return syms
}

// pkgOf returns the package path of a symbol name: what comes before the
// first dot after the last slash.
func pkgOf(name string) string {
	slash := max(strings.LastIndex(name, "/"), 0)
	if dot := strings.Index(name[slash:], "."); dot >= 0 {
		return name[:slash+dot]
	}
	return name
}
