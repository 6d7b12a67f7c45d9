package testenv

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// query sends one question to d over network ("udp" or "tcp").
func query(t *testing.T, d *DNSServer, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	client := &dns.Client{Net: network, Timeout: 2 * time.Second}
	req := new(dns.Msg)
	req.SetQuestion(dns.Fqdn(name), qtype)
	resp, _, err := client.Exchange(req, d.Addr())
	if err != nil {
		t.Fatalf("%s query %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	return resp
}

func TestDNSAnswersMXQuery(t *testing.T) {
	d := DNS(t)
	d.AddMX("police.example", 10, "mx1.police.example")
	d.AddMX("police.example", 20, "mx2.police.example")

	for _, network := range []string{"udp", "tcp"} {
		resp := query(t, d, network, "Police.Example", dns.TypeMX)
		if resp.Rcode != dns.RcodeSuccess {
			t.Errorf("%s: rcode = %s, want NOERROR", network, dns.RcodeToString[resp.Rcode])
		}
		if !resp.Authoritative {
			t.Errorf("%s: answer not authoritative", network)
		}
		if len(resp.Answer) != 2 {
			t.Fatalf("%s: %d answers, want 2: %v", network, len(resp.Answer), resp.Answer)
		}
		mx, ok := resp.Answer[0].(*dns.MX)
		if !ok || mx.Mx != "mx1.police.example." || mx.Preference != 10 {
			t.Errorf("%s: first answer = %v, want MX 10 mx1.police.example.", network, resp.Answer[0])
		}
	}
}

func TestDNSResolverLooksUpMXAndAddress(t *testing.T) {
	d := DNS(t)
	d.AddMX("police.example", 10, "mx1.police.example")
	d.AddA("mx1.police.example", "127.0.0.1")
	d.AddAAAA("mx1.police.example", "::1")
	resolver := d.Resolver()
	ctx := context.Background()

	mxs, err := resolver.LookupMX(ctx, "police.example")
	if err != nil {
		t.Fatalf("LookupMX: %v", err)
	}
	if len(mxs) != 1 || mxs[0].Host != "mx1.police.example." || mxs[0].Pref != 10 {
		t.Errorf("LookupMX = %v, want one MX 10 mx1.police.example.", mxs)
	}

	addrs, err := resolver.LookupHost(ctx, "mx1.police.example")
	if err != nil {
		t.Fatalf("LookupHost: %v", err)
	}
	if strings.Join(addrs, ",") != "127.0.0.1,::1" && strings.Join(addrs, ",") != "::1,127.0.0.1" {
		t.Errorf("LookupHost = %v, want 127.0.0.1 and ::1", addrs)
	}
}

func TestDNSUnknownNameIsNXDOMAIN(t *testing.T) {
	d := DNS(t)
	d.AddA("mx1.police.example", "127.0.0.1")

	if resp := query(t, d, "udp", "other.example", dns.TypeA); resp.Rcode != dns.RcodeNameError {
		t.Errorf("unknown name: rcode = %s, want NXDOMAIN", dns.RcodeToString[resp.Rcode])
	}

	_, err := d.Resolver().LookupHost(context.Background(), "other.example")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("LookupHost of an unknown name = %v, want a not-found error", err)
	}
}

func TestDNSExistingNameWithoutTypeIsNODATA(t *testing.T) {
	d := DNS(t)
	d.AddA("mx1.police.example", "127.0.0.1")

	cases := []struct {
		name  string
		qtype uint16
	}{
		{"mx1.police.example", dns.TypeMX},
		// police.example has no records but a name below it, so it exists.
		{"police.example", dns.TypeA},
	}
	for _, tc := range cases {
		resp := query(t, d, "udp", tc.name, tc.qtype)
		if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 0 {
			t.Errorf("%s %s: rcode %s with %d answers, want NOERROR with none",
				tc.name, dns.TypeToString[tc.qtype], dns.RcodeToString[resp.Rcode],
				len(resp.Answer))
		}
	}
}

func TestDNSSplitsLongTXT(t *testing.T) {
	d := DNS(t)
	key := "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 600)
	d.AddTXT("sel._domainkey.police.example", key)

	resp := query(t, d, "tcp", "sel._domainkey.police.example", dns.TypeTXT)
	if len(resp.Answer) != 1 {
		t.Fatalf("%d answers, want 1", len(resp.Answer))
	}
	txt := resp.Answer[0].(*dns.TXT)
	for i, chunk := range txt.Txt {
		if len(chunk) > 255 {
			t.Errorf("character-string %d is %d octets, over 255", i, len(chunk))
		}
	}
	if strings.Join(txt.Txt, "") != key {
		t.Error("joined character-strings differ from the text added")
	}

	texts, err := d.Resolver().LookupTXT(context.Background(), "sel._domainkey.police.example")
	if err != nil {
		t.Fatalf("LookupTXT: %v", err)
	}
	if len(texts) != 1 || texts[0] != key {
		t.Errorf("LookupTXT returned %d texts, want the key as one", len(texts))
	}
}

func TestDNSFollowsCNAME(t *testing.T) {
	d := DNS(t)
	d.AddCNAME("mta-sts.police.example", "sts.hosting.example")
	d.AddA("sts.hosting.example", "127.0.0.1")

	resp := query(t, d, "udp", "mta-sts.police.example", dns.TypeA)
	if len(resp.Answer) != 2 {
		t.Fatalf("%d answers, want CNAME and A: %v", len(resp.Answer), resp.Answer)
	}
	if _, ok := resp.Answer[0].(*dns.CNAME); !ok {
		t.Errorf("first answer = %v, want the CNAME", resp.Answer[0])
	}
	if a, ok := resp.Answer[1].(*dns.A); !ok || !a.A.Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("second answer = %v, want A 127.0.0.1", resp.Answer[1])
	}
}

func TestDNSCNAMELoopFails(t *testing.T) {
	d := DNS(t)
	d.AddCNAME("a.loop.example", "b.loop.example")
	d.AddCNAME("b.loop.example", "a.loop.example")

	resp := query(t, d, "udp", "a.loop.example", dns.TypeA)
	if resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode = %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
	}
}

func TestDNSSetChangesRecordsWhileRunning(t *testing.T) {
	d := DNS(t)
	d.AddMX("police.example", 10, "mx1.police.example")
	d.AddTXT("police.example", "v=spf1 -all")

	d.Set("police.example", dns.TypeMX, &dns.MX{
		Hdr:        dns.RR_Header{Name: "police.example.", Rrtype: dns.TypeMX},
		Preference: 5,
		Mx:         "mx9.police.example.",
	})
	resp := query(t, d, "udp", "police.example", dns.TypeMX)
	if len(resp.Answer) != 1 || resp.Answer[0].(*dns.MX).Mx != "mx9.police.example." {
		t.Errorf("MX after Set = %v, want only mx9.police.example.", resp.Answer)
	}

	d.Set("police.example", dns.TypeMX)
	resp = query(t, d, "udp", "police.example", dns.TypeMX)
	if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 0 {
		t.Errorf("MX after removal: rcode %s, answers %v; want NOERROR with none",
			dns.RcodeToString[resp.Rcode], resp.Answer)
	}
	if resp := query(t, d, "udp", "police.example", dns.TypeTXT); len(resp.Answer) != 1 {
		t.Errorf("TXT after removing MX: %v, want the TXT record kept", resp.Answer)
	}
}

func TestDNSSetRcodeSimulatesFailure(t *testing.T) {
	d := DNS(t)
	d.AddA("mx1.police.example", "127.0.0.1")

	d.SetRcode("mx1.police.example", dns.RcodeServerFailure)
	resp := query(t, d, "udp", "mx1.police.example", dns.TypeA)
	if resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode = %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
	}

	d.SetRcode("mx1.police.example", dns.RcodeSuccess)
	resp = query(t, d, "udp", "mx1.police.example", dns.TypeA)
	if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 {
		t.Errorf("after clearing: rcode %s with %d answers, want the A record",
			dns.RcodeToString[resp.Rcode], len(resp.Answer))
	}
}

func TestDNSTruncatesLargeUDPAnswer(t *testing.T) {
	d := DNS(t)
	for range 20 {
		d.AddTXT("big.police.example", strings.Repeat("x", 100))
	}

	udp := query(t, d, "udp", "big.police.example", dns.TypeTXT)
	if !udp.Truncated {
		t.Error("UDP answer over 512 octets is not marked truncated")
	}
	tcp := query(t, d, "tcp", "big.police.example", dns.TypeTXT)
	if tcp.Truncated || len(tcp.Answer) != 20 {
		t.Errorf("TCP answer: truncated %v with %d records, want all 20",
			tcp.Truncated, len(tcp.Answer))
	}
}

func TestDNSServesTLSAAndZoneLines(t *testing.T) {
	d := DNS(t)
	digest := strings.Repeat("ab", 32)
	d.AddTLSA("_25._tcp.mx1.police.example", 3, 1, 1, strings.ToUpper(digest))
	d.AddRR(`_dmarc.police.example. 300 IN TXT "v=DMARC1; p=reject"`)

	resp := query(t, d, "udp", "_25._tcp.mx1.police.example", dns.TypeTLSA)
	if len(resp.Answer) != 1 {
		t.Fatalf("%d TLSA answers, want 1", len(resp.Answer))
	}
	tlsa := resp.Answer[0].(*dns.TLSA)
	if tlsa.Usage != 3 || tlsa.Selector != 1 || tlsa.MatchingType != 1 || tlsa.Certificate != digest {
		t.Errorf("TLSA = %v, want 3 1 1 %s", tlsa, digest)
	}

	resp = query(t, d, "udp", "_dmarc.police.example", dns.TypeTXT)
	if len(resp.Answer) != 1 || resp.Answer[0].Header().Ttl != 300 {
		t.Errorf("DMARC answer = %v, want one TXT with TTL 300", resp.Answer)
	}
}
