package testenv

import "testing"

func TestMain(m *testing.M) {
	defer Cleanup()
	m.Run()
}
