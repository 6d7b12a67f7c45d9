package delivery

import (
	"sync"
	"time"
)

// maxSessionAge bounds how long one connection is reused, so that a server's
// configuration or certificate change reaches us within that time. Postfix's
// smtp_connection_reuse_time_limit has the same default.
const maxSessionAge = 5 * time.Minute

// pool keeps idle sessions after successful transactions, by key: the server
// address, the host name and the TLS policy, because a session verified under
// one policy proves nothing under another.
type pool struct {
	maxPerKey   int
	idleTimeout time.Duration

	mu     sync.Mutex
	idle   map[string][]*idleSession // most recently used last
	closed bool
}

type idleSession struct {
	s     *session
	timer *time.Timer // closes the session after idleTimeout
}

func newPool(maxPerKey int, idleTimeout time.Duration) *pool {
	return &pool{
		maxPerKey:   maxPerKey,
		idleTimeout: idleTimeout,
		idle:        make(map[string][]*idleSession),
	}
}

// get removes and returns the most recently used idle session for key, or
// nil. The caller checks that it still works before use.
func (p *pool) get(key string) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		list := p.idle[key]
		if len(list) == 0 {
			return nil
		}
		last := list[len(list)-1]
		p.setList(key, list[:len(list)-1])
		// Stop fails when the timer has fired: its function is waiting for
		// the lock and will find the session gone, so it is ours to use.
		last.timer.Stop()
		if time.Since(last.s.created) < maxSessionAge {
			return last.s
		}
		go last.s.close()
	}
}

// put keeps s for reuse and reports whether it did. When it did not, because
// the pool is closed, disabled or full for that key, the caller closes s.
func (p *pool) put(s *session) bool {
	if p.maxPerKey <= 0 || s.broken || time.Since(s.created) >= maxSessionAge {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle[s.key]) >= p.maxPerKey {
		return false
	}

	entry := &idleSession{s: s}
	entry.timer = time.AfterFunc(p.idleTimeout, func() { p.expire(entry) })
	p.idle[s.key] = append(p.idle[s.key], entry)
	return true
}

// expire closes an idle session whose idle timeout has passed, unless get
// has taken it meanwhile.
func (p *pool) expire(entry *idleSession) {
	p.mu.Lock()
	list := p.idle[entry.s.key]
	found := false
	for i, e := range list {
		if e == entry {
			p.setList(entry.s.key, append(list[:i:i], list[i+1:]...))
			found = true
			break
		}
	}
	p.mu.Unlock()
	if found {
		entry.s.close()
	}
}

func (p *pool) setList(key string, list []*idleSession) {
	if len(list) == 0 {
		delete(p.idle, key)
		return
	}
	p.idle[key] = list
}

// closeAll closes every idle session and makes put refuse new ones.
func (p *pool) closeAll() {
	p.mu.Lock()
	var sessions []*session
	for _, list := range p.idle {
		for _, entry := range list {
			entry.timer.Stop()
			sessions = append(sessions, entry.s)
		}
	}
	p.idle = make(map[string][]*idleSession)
	p.closed = true
	p.mu.Unlock()

	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(s.close)
	}
	wg.Wait()
}

// count returns the number of idle sessions, for tests.
func (p *pool) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, list := range p.idle {
		n += len(list)
	}
	return n
}
