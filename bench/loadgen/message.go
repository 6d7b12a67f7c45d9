package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"
)

// fillerLine is the length of each body line without its CRLF, under the 78 characters
// that RFC 5322 section 2.1.1 recommends.
const fillerLine = 76

// fillerAlphabet has no "." so that no body line needs dot-stuffing (RFC 5321 section
// 4.5.2).
const fillerAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// newFiller returns lines of fillerLine pseudo-random characters, each ending in CRLF,
// with at least size octets in all. The seed is fixed, so every run sends the same text.
func newFiller(size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	lines := size/(fillerLine+2) + 1
	out := make([]byte, 0, lines*(fillerLine+2))
	for range lines {
		for range fillerLine {
			out = append(out, fillerAlphabet[rng.IntN(len(fillerAlphabet))])
		}
		out = append(out, '\r', '\n')
	}
	return out
}

// buildMessage returns message number i of the run: a plain-text message of opts.size
// octets (within one octet) whose Message-ID is unique to the run and the number, so that
// no two messages have the same content.
func buildMessage(opts options, i int, filler []byte) []byte {
	var b bytes.Buffer
	b.Grow(opts.size + 2)
	fmt.Fprintf(&b, "Message-ID: <%s.%d@%s>\r\n", opts.runID, i, opts.ehlo)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: <%s>\r\n", opts.from)
	fmt.Fprintf(&b, "To: <%s>\r\n", opts.to[0])
	fmt.Fprintf(&b, "Subject: relay benchmark message %d of run %s\r\n", i, opts.runID)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")

	remaining := opts.size - b.Len()
	if remaining <= 0 {
		return b.Bytes()
	}
	whole := remaining / (fillerLine + 2) * (fillerLine + 2)
	b.Write(filler[:whole])
	if rest := remaining - whole; rest > 2 {
		b.Write(filler[:rest-2])
		b.WriteString("\r\n")
	} else if rest > 0 {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}
