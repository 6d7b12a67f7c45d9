package main

import (
	"net"
	"syscall"
)

// quickAckConn sets TCP_QUICKACK before every read, so that the kernel acknowledges the
// server's segments at once instead of after the delayed-ACK timeout (tcp(7)). Linux clears
// the option again by itself, hence the call on each read.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

// withQuickAck wraps c when it is a TCP connection; other connections are returned as they
// are.
func withQuickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: tc, raw: raw}
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return c.TCPConn.Read(p)
}
