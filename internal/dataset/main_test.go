package dataset

import (
	"testing"

	"github.com/cjsm/cjsm/internal/testenv"
)

// TestMain stops the PostgreSQL cluster that the load tests share.
func TestMain(m *testing.M) {
	defer testenv.Cleanup()
	m.Run()
}
