// Package e2e holds end-to-end scenario tests: a cjsm node started in the test process with
// real peers on loopback (Postfix, a DNS server, PostgreSQL) and real clients (Python's
// smtplib, swaks). Each test is named by the behaviour it proves.
package e2e
