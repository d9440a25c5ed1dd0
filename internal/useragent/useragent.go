// Package useragent names the device of a User-Agent header in words a
// person recognises ("Firefox on Android"), for the lists of sessions on
// the account and admin pages. It only describes: a user agent is whatever
// the client says, so nothing decides anything by it.
package useragent

import (
	"strings"
	"unicode/utf8"
)

// Device returns a short readable name for the browser and system of a
// user agent, such as "Chrome on macOS"; the raw string shortened when it
// names no browser this package knows; and "Unknown device" when it is
// empty.
func Device(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return "Unknown device"
	}
	b, o := browserOf(ua), systemOf(ua)
	switch {
	case b != "" && o != "":
		return b + " on " + o
	case b != "":
		return b
	}
	return shorten(ua, 60)
}

// browserOf names the browser of a user agent. The order matters: most
// browsers also claim to be Chrome or Safari.
func browserOf(ua string) string {
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(ua, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("Edg/", "EdgA/", "EdgiOS/"):
		return "Edge"
	case has("OPR/", "Opera"):
		return "Opera"
	case has("SamsungBrowser/"):
		return "Samsung Internet"
	case has("Firefox/", "FxiOS/"):
		return "Firefox"
	case has("CriOS/", "Chrome/"):
		return "Chrome"
	case has("Chromium/"):
		return "Chromium"
	case has("Safari/") && has("Version/"):
		return "Safari"
	}
	return ""
}

// systemOf names the operating system of a user agent.
func systemOf(ua string) string {
	switch {
	case strings.Contains(ua, "iPhone"):
		return "iPhone"
	case strings.Contains(ua, "iPad"):
		return "iPad"
	case strings.Contains(ua, "Android"):
		return "Android"
	case strings.Contains(ua, "CrOS"):
		return "ChromeOS"
	case strings.Contains(ua, "Windows"):
		return "Windows"
	case strings.Contains(ua, "Macintosh"), strings.Contains(ua, "Mac OS X"):
		return "macOS"
	case strings.Contains(ua, "Linux"):
		return "Linux"
	}
	return ""
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
