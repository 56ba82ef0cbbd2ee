package rpc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wnode/wnode/rpc/rpctypes"
	"golang.org/x/time/rate"
)

// Admission control of execution outside blocks (/fn/, wn_call, wn_estimateGas): a
// fixed number of execution slots, a short queue served round-robin across clients, a
// per-client bound, and a fast refusal past them. See docs/rationale/admission.md.

// DefaultExecSlots is the default number of read-only executions that run at once: half
// the Go processors, at least one. Wasm code is not preempted by the Go scheduler until it
// calls the host, so slots beyond that would take processors from block execution and
// consensus.
func DefaultExecSlots() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// Defaults of the admission fields of Config.
const (
	DefaultExecQueueWait  = 250 * time.Millisecond
	DefaultExecTimeBudget = 2 * time.Second
	// DefaultExecFastLane: an execution first runs inline, at normal priority, for up to
	// this long (see Config.ExecFastLane).
	DefaultExecFastLane = time.Millisecond
	// DefaultExecShare: read-only work may use half of each slot's processor. Measured on
	// a 4-validator localnet on 2 shared cores (docs/rationale/admission.md): tx latency
	// p50 ×2.2 with spinning clients at share 1, ×1.2 at 0.5, ×1.05 at 0.25.
	DefaultExecShare = 0.5
	// RetryAfter is what a refused client is told to wait (the Retry-After header, the
	// retryAfter field of CodeBusy's data).
	RetryAfter = time.Second
	// execNice is the nice value of the threads running executions (Linux): 10 gives
	// them a tenth of the CPU share of a default thread when CPUs are contended; not 19,
	// which can starve a thread for long enough to hold up the GC's stop-the-world.
	execNice = 10
	// refusalDelay is how long a refused execution waits before its answer.
	refusalDelay = 100 * time.Millisecond
)

// BusyError is the refusal of an execution by admission control. Status is the HTTP
// status of the gateway: 429 for a client over its share, 503 for a full node.
type BusyError struct {
	Status     int
	RetryAfter time.Duration
	Reason     string
}

func (e *BusyError) Error() string { return "node busy: " + e.Reason }

// rpcError is the JSON-RPC form, code CodeBusy with data {"retryAfter": seconds,
// "status": 429|503}.
func (e *BusyError) rpcError() *Error {
	return &Error{Code: rpctypes.CodeBusy, Message: e.Error(), Data: map[string]any{
		"retryAfter": int(e.RetryAfter / time.Second), "status": e.Status,
	}}
}

// admission hands out execution slots. A client (see clientKey) may hold at most
// perClient slots and queue places together; waiters are served one client at a time in
// turn, so a client with many requests waits behind every other client's first one.
type admission struct {
	slots, queueMax, perClient int
	wait                       time.Duration
	m                          *admissionMetrics

	mu      sync.Mutex
	running int
	queued  int
	clients map[string]*admClient
	ring    []*admClient // clients with waiters, in service order
}

type admClient struct {
	key     string
	n       int // running + queued
	waiters []*admWaiter
}

type admWaiter struct {
	ready   chan struct{}
	granted bool // guarded by admission.mu
}

func newAdmission(slots, queue, perClient int, wait time.Duration, m *admissionMetrics) *admission {
	return &admission{slots: slots, queueMax: queue, perClient: perClient, wait: wait, m: m,
		clients: map[string]*admClient{}}
}

// acquire takes a slot for client, waiting at most a.wait in the queue. It returns the
// release function (its argument: how long the slot rests before it frees), or a *BusyError right away when the client already holds its share
// or the queue is full, or when the wait runs out; ctx's error when ctx ends first.
func (a *admission) acquire(ctx context.Context, client string) (func(rest time.Duration), error) {
	a.mu.Lock()
	c := a.clients[client]
	if c == nil {
		c = &admClient{key: client}
		a.clients[client] = c
	}
	if c.n >= a.perClient {
		a.forgetIdle(c)
		a.mu.Unlock()
		a.m.rejected.WithLabelValues("client").Inc()
		return nil, &BusyError{Status: http.StatusTooManyRequests, RetryAfter: RetryAfter,
			Reason: fmt.Sprintf("this client already runs or waits for %d executions, the most one client may", a.perClient)}
	}
	if a.running < a.slots && a.queued == 0 {
		a.running++
		c.n++
		a.gauges()
		a.mu.Unlock()
		a.m.wait.Observe(0)
		return func(rest time.Duration) { a.release(c, rest) }, nil
	}
	if a.queued >= a.queueMax {
		a.forgetIdle(c)
		a.mu.Unlock()
		a.m.rejected.WithLabelValues("queue").Inc()
		return nil, &BusyError{Status: http.StatusServiceUnavailable, RetryAfter: RetryAfter,
			Reason: fmt.Sprintf("all %d execution slots busy and %d requests waiting", a.slots, a.queued)}
	}
	w := &admWaiter{ready: make(chan struct{})}
	if len(c.waiters) == 0 {
		a.ring = append(a.ring, c)
	}
	c.waiters = append(c.waiters, w)
	c.n++
	a.queued++
	a.gauges()
	a.mu.Unlock()

	start := time.Now()
	t := time.NewTimer(a.wait)
	defer t.Stop()
	var err error
	select {
	case <-w.ready:
	case <-t.C:
		err = &BusyError{Status: http.StatusServiceUnavailable, RetryAfter: RetryAfter,
			Reason: fmt.Sprintf("no execution slot free within %v", a.wait)}
	case <-ctx.Done():
		err = ctx.Err()
	}
	a.m.wait.Observe(time.Since(start).Seconds())
	if err != nil {
		a.mu.Lock()
		if !w.granted { // else the slot was handed over meanwhile: take it
			a.dequeue(c, w)
			a.mu.Unlock()
			if _, busy := err.(*BusyError); busy {
				a.m.rejected.WithLabelValues("wait").Inc()
			}
			return nil, err
		}
		a.mu.Unlock()
	}
	return func(rest time.Duration) { a.release(c, rest) }, nil
}

// release ends c's execution: c's share is returned at once, the slot after rest (see
// Config.ExecShare), when it goes to the next waiter in turn.
func (a *admission) release(c *admClient, rest time.Duration) {
	a.mu.Lock()
	c.n--
	a.forgetIdle(c)
	a.mu.Unlock()
	if rest > 0 {
		time.AfterFunc(rest, a.freeSlot)
		return
	}
	a.freeSlot()
}

// freeSlot hands a slot to the next waiter in turn, or frees it.
func (a *admission) freeSlot() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ring) == 0 {
		a.running--
		a.gauges()
		return
	}
	next := a.ring[0]
	w := next.waiters[0]
	next.waiters = next.waiters[1:]
	a.ring = a.ring[1:]
	if len(next.waiters) > 0 {
		a.ring = append(a.ring, next) // its next request waits for everyone else's turn
	}
	a.queued--
	w.granted = true
	close(w.ready)
	a.gauges()
}

// dequeue removes w, which gave up, from c's waiters.
func (a *admission) dequeue(c *admClient, w *admWaiter) {
	for i, x := range c.waiters {
		if x == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			break
		}
	}
	if len(c.waiters) == 0 {
		for i, x := range a.ring {
			if x == c {
				a.ring = append(a.ring[:i], a.ring[i+1:]...)
				break
			}
		}
	}
	c.n--
	a.queued--
	a.forgetIdle(c)
	a.gauges()
}

// forgetIdle drops c's record when it holds nothing, so the map stays as small as the
// set of clients being served.
func (a *admission) forgetIdle(c *admClient) {
	if c.n == 0 && len(c.waiters) == 0 {
		delete(a.clients, c.key)
	}
}

func (a *admission) gauges() {
	a.m.running.Set(float64(a.running))
	a.m.queued.Set(float64(a.queued))
}

type admissionMetrics struct {
	running  prometheus.Gauge
	queued   prometheus.Gauge
	rejected *prometheus.CounterVec
	wait     prometheus.Histogram
	overrun  prometheus.Counter
	lane     *prometheus.CounterVec
}

func newAdmissionMetrics() *admissionMetrics {
	return &admissionMetrics{
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "exec_running",
			Help: "Read-only executions (/fn/, wn_call, wn_estimateGas) running now.",
		}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "exec_queued",
			Help: "Read-only executions waiting for a slot.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "exec_rejected_total",
			Help: "Executions refused by admission control: reason client (429, over the per-client share), queue (503, queue full), wait (503, no slot within the wait).",
		}, []string{"reason"}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "exec_wait_seconds",
			Help:    "Time an admitted or refused execution waited for a slot.",
			Buckets: []float64{0, 1e-3, 5e-3, 25e-3, 100e-3, 250e-3, 1},
		}),
		overrun: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "exec_time_budget_exceeded_total",
			Help: "Executions stopped by the per-call time budget.",
		}),
		lane: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "wnode", Subsystem: "rpc", Name: "exec_lane_total",
			Help: "Executions by where they ran: fast (inline, within the fast lane), overflow (ran past the fast lane and again on an execution thread), thread (on an execution thread only: the fast lane was off or closed).",
		}, []string{"lane"}),
	}
}

func (m *admissionMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.running, m.queued, m.rejected, m.wait, m.overrun, m.lane}
}

type clientKeyCtx struct{}

// withClient wraps h so that requests carry their client's key (see clientKey).
func (s *Server) withClient(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := remoteIP(r.RemoteAddr)
		if s.cfg.ClientHeader != "" {
			if v := lastListItem(r.Header.Values(s.cfg.ClientHeader)); v != "" {
				key = v
			}
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKeyCtx{}, key)))
	})
}

// clientKey is who a request counts against for fairness: the remote IP, or the last
// value of the trusted proxy header (Config.ClientHeader) for HTTP requests. A WebSocket
// request counts against its connection's remote IP.
func clientKey(ctx context.Context) string {
	if k, ok := ctx.Value(clientKeyCtx{}).(string); ok {
		return k
	}
	return remoteIP(gethrpc.PeerInfoFromContext(ctx).RemoteAddr)
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// lastListItem is the last element of a comma-separated header (X-Forwarded-For: the
// address the trusted proxy itself saw; earlier ones are the client's to forge).
func lastListItem(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// restMin is the shortest execution after which a slot rests: the share is meant for
// heavy calls; ordinary ones (a few ms, longer on a loaded machine) would otherwise halve
// the capacity for everyone and queue legitimate clients behind their own rests.
const restMin = 20 * time.Millisecond

// restAfter is how long a slot stays taken after an execution of d, for a CPU share in
// (0, 1): d × (1/share − 1), for executions of restMin or more.
func restAfter(d time.Duration, share float64) time.Duration {
	if share <= 0 || share >= 1 || d < restMin {
		return 0
	}
	return time.Duration(float64(d) * (1/share - 1))
}

// execThreads runs executions on long-lived OS threads at a lower priority (Linux), one
// per execution slot, started on first use. A goroutine locked to its thread whose
// priority it lowered never unlocks it: the thread ends with the goroutine, so the
// priority never leaks to other work. Reusing the threads spares each execution the
// creation and exit of one (~110 µs of a /fn/ call on a loaded two-core machine, see
// docs/rationale/gateway.md).
type execThreads struct {
	n    int
	once sync.Once
	jobs chan func()

	mu     sync.RWMutex // held (R) while a job is handed over, so none is after close
	closed bool
	quit   chan struct{}
}

func newExecThreads(n int) *execThreads {
	return &execThreads{n: n, jobs: make(chan func(), n), quit: make(chan struct{})}
}

// run runs f on one of the threads; after close, on a thread of its own that ends with
// it.
func (p *execThreads) run(f func()) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		go func() {
			runtime.LockOSThread()
			lowerThreadPriority()
			f()
		}()
		return
	}
	p.once.Do(func() {
		for range p.n {
			go p.worker()
		}
	})
	p.jobs <- f // at most n run at once (admission's slots), so a thread is free soon
}

func (p *execThreads) worker() {
	runtime.LockOSThread()
	lowerThreadPriority()
	for {
		select {
		case f := <-p.jobs:
			f()
		case <-p.quit:
			for { // every job was handed over before quit closed: finish those left
				select {
				case f := <-p.jobs:
					f()
				default:
					return
				}
			}
		}
	}
}

// close ends the threads once the jobs handed over are done; later runs get threads of
// their own.
func (p *execThreads) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.quit)
	}
}

// fastLaneOverflows bounds how often executions may run past the fast lane: each costs
// up to Config.ExecFastLane at normal priority before it starts again on an execution
// thread, so at most 20 a second (bursts of 20) is at most 2 % of a core at the default
// fast lane. Past it the lane closes until the budget refills and executions go straight
// to the threads, as they did before the lane existed.
const (
	fastLaneOverflowRate  = 20
	fastLaneOverflowBurst = 20
)

// fastLane decides which executions run inline first. See Server.execute.
type fastLane struct {
	limit     time.Duration // 0: off
	overflows *rate.Limiter
}

func newFastLane(limit time.Duration) *fastLane {
	if limit <= 0 {
		return &fastLane{}
	}
	return &fastLane{limit: limit, overflows: rate.NewLimiter(fastLaneOverflowRate, fastLaneOverflowBurst)}
}

// open reports whether the next execution may run inline first.
func (l *fastLane) open() bool { return l.limit > 0 && l.overflows.Tokens() >= 1 }

// overflowed records an execution that ran past the lane.
func (l *fastLane) overflowed() { l.overflows.Allow() }
