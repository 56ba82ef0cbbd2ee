package loadgen

import (
	"fmt"
	"slices"
	"time"
)

// Latencies summarises durations, in microseconds.
type Latencies struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50Micros"`
	P90  float64 `json:"p90Micros"`
	P99  float64 `json:"p99Micros"`
	Max  float64 `json:"maxMicros"`
	Mean float64 `json:"meanMicros"`
}

// Summarize sorts d and returns its quantiles, maximum and mean.
func Summarize(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return Latencies{N: len(d), P50: quantile(d, 0.50), P90: quantile(d, 0.90), P99: quantile(d, 0.99),
		Max: micros(d[len(d)-1]), Mean: float64(sum.Nanoseconds()) / float64(len(d)) / 1e3}
}

// quantile is the q-quantile of sorted d, in microseconds.
func quantile(d []time.Duration, q float64) float64 {
	return micros(d[min(len(d)-1, int(q*float64(len(d))))])
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func (l Latencies) String() string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  (n=%d)", us(l.P50), us(l.P90), us(l.P99), us(l.Max), l.N)
}

// us formats microseconds for people: µs below 10 ms, ms above.
func us(v float64) string {
	if v >= 10_000 {
		return fmt.Sprintf("%.1f ms", v/1000)
	}
	return fmt.Sprintf("%.0f µs", v)
}
