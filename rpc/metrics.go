package rpc

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the RPC server's Prometheus metrics.
type metrics struct {
	duration *prometheus.HistogramVec // by method ("fn" for the gateway)
	errors   *prometheus.CounterVec   // by method
	subs     prometheus.Gauge         // active subscriptions
	subsDrop *prometheus.CounterVec   // subscriptions refused or ended by the server, by reason
	tooLarge prometheus.Counter       // bodies refused with 413

	admission *admissionMetrics
}

// latencyBuckets span 25 µs (a gateway hello) to 10 s (the request timeout).
var latencyBuckets = []float64{
	25e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3,
	250e-3, 500e-3, 1, 2.5, 5, 10,
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "request_duration_seconds",
			Help:    "Time to serve an RPC method or a /fn/ gateway call (method=\"fn\").",
			Buckets: latencyBuckets,
		}, []string{"method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "errors_total",
			Help: "RPC methods and gateway calls answered with an error.",
		}, []string{"method"}),
		subs: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "subscriptions",
			Help: "Active WebSocket subscriptions.",
		}),
		subsDrop: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "subscriptions_refused_total",
			Help: "Subscriptions refused (reason conn: per-connection cap, total: server cap) or ended by the server (slow: the client fell behind and missed blocks).",
		}, []string{"reason"}),
		tooLarge: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "body_too_large_total",
			Help: "Requests refused with 413 for a body over the limit.",
		}),
		admission: newAdmissionMetrics(),
	}
	if reg != nil {
		for _, c := range append([]prometheus.Collector{m.duration, m.errors, m.subs, m.subsDrop, m.tooLarge}, m.admission.collectors()...) {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// observe records one request of method that started at start and ended with *err.
func (m *metrics) observe(method string, start time.Time, err *error) {
	m.duration.WithLabelValues(method).Observe(time.Since(start).Seconds())
	if err != nil && *err != nil {
		m.errors.WithLabelValues(method).Inc()
	}
}
