package public_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/credserver/credserver/internal/public"
)

var errSentinel = errors.New("sentinel")

func TestMessage(t *testing.T) {
	const fallback = "internal error"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain error is never shown", errors.New("secret=hunter2"), fallback},
		{"wrapped plain error is never shown", fmt.Errorf("%w: token tok-123", errSentinel), fallback},
		{"public message", public.Wrap(errSentinel, "the token lacks scope x"), "the token lacks scope x"},
		{"public message under a wrap", fmt.Errorf("context: %w", public.Wrap(errSentinel, "shown")), "shown"},
		{"nil", nil, fallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := public.Message(tt.err, fallback); got != tt.want {
				t.Errorf("Message = %q, want %q", got, tt.want)
			}
		})
	}
	if err := public.Wrap(errSentinel, "m"); !errors.Is(err, errSentinel) {
		t.Error("Wrap hides its error from errors.Is")
	}
}
