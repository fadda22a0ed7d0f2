package media

import "testing"

func TestStreamSlowReaderDoesNotBlockOthers(t *testing.T) {
	s := NewStream()
	fast := s.Subscribe("fast", 100)
	slow := s.Subscribe("slow", 2)
	for i := 0; i < 10; i++ {
		s.Publish(Sample{Kind: Video, PTS: 0})
	}
	if got := len(fast.C); got != 10 {
		t.Fatalf("fast reader got %d samples, want 10", got)
	}
	if got := len(slow.C); got != 2 {
		t.Fatalf("slow reader holds %d samples, want 2", got)
	}
	if slow.Dropped() != 8 {
		t.Fatalf("slow reader dropped %d, want 8", slow.Dropped())
	}
	slow.Close()
	if s.Readers() != 1 {
		t.Fatalf("readers = %d after close, want 1", s.Readers())
	}
	s.Close()
	n := 0
	for range fast.C {
		n++
	}
	if n != 10 {
		t.Fatalf("drained %d from fast after stream close, want 10", n)
	}
	late := s.Subscribe("late", 1)
	if _, ok := <-late.C; ok {
		t.Fatal("subscribe on a closed stream must give a closed channel")
	}
}
