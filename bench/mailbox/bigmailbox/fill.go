package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cjsm/cjsm/internal/blob"
	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

// prepared is one generated message after its blob is stored and its text extracted.
type prepared struct {
	key          string
	size         int64
	header, body string
	date         time.Time
}

// fillStats is the outcome of a fill.
type fillStats struct {
	messages int
	bytes    int64
	elapsed  time.Duration
}

// fill files n generated messages into the folder inbox, oldest first, so that UIDs follow
// the dates.
//
// It is the bulk counterpart of mailbox.Service.Append. It uses the same blob store (each
// blob written and fsynced before a row refers to it), the same text extraction and the
// same store calls (CreateMessage, PutMessageText, AppendMessage). But batch messages share
// one transaction, and up to writers blobs are written at once. Quota and permission checks
// are skipped because the bench owns the mailbox.
func fill(ctx context.Context, st *store.Store, blobs *blob.Store, inbox store.Mailbox,
	c corpus, n, batch, writers int, progress func(done int)) (fillStats, error) {
	began := time.Now()
	stats := fillStats{}
	batches := make(chan []prepared, 2)
	errs := make(chan error, 1)

	go func() {
		defer close(batches)
		for start := 0; start < n; start += batch {
			items, err := prepareBatch(blobs, c, start, min(start+batch, n), n, writers)
			if err != nil {
				errs <- err
				return
			}
			select {
			case batches <- items:
			case <-ctx.Done():
				return
			}
		}
	}()

	for items := range batches {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for i, p := range items {
				msg := store.Message{QueueID: fmt.Sprintf("bulk-%08d", stats.messages+i),
					Blob: p.key, Size: p.size}
				if err := tx.CreateMessage(ctx, &msg); err != nil {
					return err
				}
				if err := tx.PutMessageText(ctx, msg.ID, p.header, p.body); err != nil {
					return err
				}
				if _, _, err := tx.AppendMessage(ctx, inbox.ID, msg.ID, "", p.date); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return stats, fmt.Errorf("fill: commit messages %d to %d: %w", stats.messages,
				stats.messages+len(items)-1, err)
		}
		stats.messages += len(items)
		for _, p := range items {
			stats.bytes += p.size
		}
		if progress != nil {
			progress(stats.messages)
		}
	}
	select {
	case err := <-errs:
		return stats, err
	default:
	}
	stats.elapsed = time.Since(began)
	return stats, ctx.Err()
}

// prepareBatch generates messages [from, to) of n, stores their blobs and extracts their
// search text, with writers goroutines, and returns them in order.
func prepareBatch(blobs *blob.Store, c corpus, from, to, n, writers int) ([]prepared, error) {
	items := make([]prepared, to-from)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				raw := c.message(i, n)
				key, err := blobs.Put(raw)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("fill: store message %d: %w", i, err)
					}
					mu.Unlock()
					continue
				}
				header, body := mailbox.ExtractText(raw)
				items[i-from] = prepared{key: key, size: int64(len(raw)), header: header,
					body: body, date: c.date(i, n)}
			}
		}()
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return items, firstErr
}
