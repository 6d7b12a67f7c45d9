package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

func TestClaimNoticeOncePerPeriod(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		now := time.Now()
		day := 24 * time.Hour

		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				won, err := st.ClaimNotice(ctx, "quota", "person:1", now, now.Add(-day))
				if err != nil {
					t.Errorf("ClaimNotice: %v", err)
				}
				if won {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("8 racing claims won %d times, want 1", wins)
		}

		if won, err := st.ClaimNotice(ctx, "quota", "person:1", now.Add(time.Hour),
			now.Add(time.Hour-day)); err != nil || won {
			t.Errorf("claim within the day = %v, %v; want false", won, err)
		}
		if won, err := st.ClaimNotice(ctx, "quota", "person:2", now, now.Add(-day)); err != nil || !won {
			t.Errorf("claim about another subject = %v, %v; want true", won, err)
		}
		later := now.Add(day + time.Minute)
		if won, err := st.ClaimNotice(ctx, "quota", "person:1", later, later.Add(-day)); err != nil || !won {
			t.Errorf("claim after the day = %v, %v; want true", won, err)
		}
	})
}
