package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"
)

// vocabulary is the filler text of message bodies. No entry contains searchWord, so a body
// holds searchWord only where buildMessage puts it.
var vocabulary = []string{
	"court", "hearing", "listing", "defendant", "witness", "statement", "custody", "bail",
	"disclosure", "evidence", "exhibit", "officer", "prosecutor", "solicitor", "barrister",
	"probation", "report", "sentence", "adjourned", "remand", "magistrates", "crown", "case",
	"file", "review", "charge", "victim", "support", "contact", "please", "confirm", "attached",
	"schedule", "update", "tomorrow", "morning", "afternoon", "regards", "thanks", "request",
	"information", "reference", "number", "police", "station", "interview", "record", "notes",
	"the", "and", "for", "with", "that", "this", "from", "will", "have", "been", "about",
}

// senders are the From addresses of the generated messages.
var senders = []string{
	"sarah.okafor@kent-police.cjsm.test", "daniel.price@cps-south-east.cjsm.test",
	"amelia.hart@harbourreed.test.cjsm.test", "grace.mensah@medway-victim-support.cjsm.test",
	"helen.ward@cps-south-east.cjsm.test", "tom.hughes@kent-police.cjsm.test",
}

// corpus generates the messages of the mailbox: deterministic for a seed, each about size
// octets, and every every-th one (counting from 0) with searchWord in its body.
type corpus struct {
	to         string
	size       int
	every      int
	searchWord string
	newest     time.Time
	seed       uint64
}

// hasWord reports whether message i contains the search word in its body.
func (c corpus) hasWord(i int) bool { return c.every > 0 && i%c.every == 0 }

// expectedHits returns how many of the first n messages contain the search word.
func (c corpus) expectedHits(n int) int {
	if c.every <= 0 || n <= 0 {
		return 0
	}
	return (n-1)/c.every + 1
}

// date returns the Date and internal date of message i of n: one minute apart, the last
// message at c.newest.
func (c corpus) date(i, n int) time.Time {
	return c.newest.Add(-time.Duration(n-1-i) * time.Minute)
}

// message returns message i of n as RFC 5322 text with CRLF line ends.
func (c corpus) message(i, n int) []byte {
	rng := rand.New(rand.NewPCG(c.seed, uint64(i)))
	var b bytes.Buffer
	b.Grow(c.size + 200)
	fmt.Fprintf(&b, "Message-ID: <bigmailbox.%d.%d@bench.cjsm.test>\r\n", c.seed, i)
	fmt.Fprintf(&b, "Date: %s\r\n", c.date(i, n).Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: <%s>\r\n", senders[rng.IntN(len(senders))])
	fmt.Fprintf(&b, "To: <%s>\r\n", c.to)
	fmt.Fprintf(&b, "Subject: Case %06d: %s %s\r\n", i, vocabulary[rng.IntN(len(vocabulary))],
		vocabulary[rng.IntN(len(vocabulary))])
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")

	line := 0
	wordAt := -1
	if c.hasWord(i) {
		wordAt = rng.IntN(max(1, (c.size-b.Len())/8))
	}
	for words := 0; b.Len() < c.size; words++ {
		w := vocabulary[rng.IntN(len(vocabulary))]
		if words == wordAt {
			w = c.searchWord
		}
		// RFC 5322 section 2.1.1: lines should stay within 78 characters.
		if line+len(w)+1 > 76 {
			b.WriteString("\r\n")
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	if wordAt >= 0 && !bytes.Contains(b.Bytes(), []byte(c.searchWord)) {
		// The body filled up before its chosen position: put the word on a line of its own.
		b.WriteString("\r\n" + c.searchWord)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}
