package node

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/types"
)

// metrics are the node's Prometheus metrics (the RPC server adds its own, wnode_rpc_*).
type metrics struct {
	reg *prometheus.Registry

	height     prometheus.Gauge
	blocks     prometheus.Counter
	txs        *prometheus.CounterVec
	gasUsed    prometheus.Counter
	blockTime  *prometheus.HistogramVec // build, validate, commit
	callGas    prometheus.Counter
	subDropped prometheus.Counter
}

// blockBuckets span 100 µs (an empty block) to 5 s.
var blockBuckets = []float64{100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		height: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "wnode", Subsystem: "chain", Name: "height", Help: "Height of the latest committed block.",
		}),
		blocks: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "chain", Name: "blocks_total", Help: "Blocks committed since start.",
		}),
		txs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "chain", Name: "txs_total", Help: "Transactions committed since start, by receipt status.",
		}, []string{"status"}),
		gasUsed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "chain", Name: "gas_used_total", Help: "Gas used by committed transactions since start.",
		}),
		blockTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "wnode", Subsystem: "chain", Name: "block_seconds",
			Help:    "Time to build (execute, as proposer), validate (re-execute) and commit (write) a block.",
			Buckets: blockBuckets,
		}, []string{"phase"}),
		callGas: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "vm", Name: "call_gas_used_total", Help: "Gas used by read-only calls (wn_call, /fn/).",
		}),
		subDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "subscription_dropped_total",
			Help: "Blocks not delivered to a subscriber whose buffer was full.",
		}),
	}
	m.reg.MustRegister(m.height, m.blocks, m.txs, m.gasUsed, m.blockTime, m.callGas, m.subDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// gaugeFunc registers a gauge computed at scrape time.
func (m *metrics) gaugeFunc(subsystem, name, help string, labels prometheus.Labels, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "wnode", Subsystem: subsystem, Name: name, Help: help, ConstLabels: labels,
	}, f))
}

// counterFunc registers a counter read at scrape time from a count kept elsewhere.
func (m *metrics) counterFunc(subsystem, name, help string, labels prometheus.Labels, f func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "wnode", Subsystem: subsystem, Name: name, Help: help, ConstLabels: labels,
	}, f))
}

func (m *metrics) observeCommitted(ev *chain.BlockEvent) {
	m.height.Set(float64(ev.Block.Height()))
	m.blocks.Inc()
	var gas uint64
	for _, r := range ev.Receipts {
		gas += r.GasUsed
		if r.Status == types.ReceiptSuccess {
			m.txs.WithLabelValues("success").Inc()
		} else {
			m.txs.WithLabelValues("failed").Inc()
		}
	}
	m.gasUsed.Add(float64(gas))
}

func (m *metrics) observeCall(gas uint64) { m.callGas.Add(float64(gas)) }
