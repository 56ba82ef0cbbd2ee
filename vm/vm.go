package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"golang.org/x/sys/cpu"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm/internal/prepare"
	"github.com/wnode/wnode/vm/metadata"
)

// Version is the VM's version. It changes whenever the host ABI's behaviour, the
// instrumentation or anything else that decides a call's outcome changes; together with
// the gas schedule's version it keys the on-disk cache of compiled code.
//
// Version 2: memory.grow pays per page added, not per page requested (a refused grow
// pays its base only).
// Version 3: cheaper charges (loop heads charged with a branch, no trap-global write;
// out of gas is told by a negative gas global). Gas and outcomes are those of version 2.
// Version 4: a loop head's charge traps in the else arm of its test, out of the loop's
// straight path. Gas and outcomes are those of version 2.
// Version 5: the compiled module exports every mutable global (instance reuse resets
// them; see instance.go), so compiled code differs from version 4's. Gas and outcomes
// are those of version 2.
// Version 6: the instrumented code keeps the gas in a local of each function, written
// back to the global around calls and returns; a trap of a Wasm instruction uses the
// whole gas limit (docs/rationale/vm-prepare.md, "Gas in a local"). Gas of calls that
// succeed, revert or fail in a host function is that of version 5.
// Version 7: a metering block's charge follows the first memory access of its straight
// prefix instead of preceding it (docs/rationale/vm-prepare.md, "Session 7"). Gas of calls that succeed, revert or fail in a host function is that
// of version 6; a call that runs out of gas in a loop head's block may trap on that
// block's first memory access, or an instruction before it, instead (both use the whole
// gas limit).
const Version = 7

// Engine selects wazero's execution engine.
type Engine int

const (
	// EngineCompiler compiles Wasm to native code (the default and the only engine for
	// production). It is pinned: where wazero cannot compile, New fails instead of
	// silently falling back to the interpreter.
	EngineCompiler Engine = iota
	// EngineInterpreter interprets Wasm. It is ~10-50x slower and exists to cross-check
	// the compiler's determinism in tests.
	EngineInterpreter
)

// String returns "compiler" or "interpreter".
func (e Engine) String() string {
	switch e {
	case EngineCompiler:
		return "compiler"
	case EngineInterpreter:
		return "interpreter"
	}
	return fmt.Sprintf("Engine(%d)", int(e))
}

// Defaults of Config.
const (
	DefaultMaxCallDepth = 64
	DefaultCacheEntries = 512
)

// Config configures a VM. The zero Config is valid: compiler engine, memory-only cache,
// default gas schedule and limits, 64 frames.
type Config struct {
	Engine Engine
	// CacheDir holds wazero's on-disk cache of compiled code, in CacheDir/<VersionString>.
	// "" keeps compiled code in memory only.
	CacheDir string
	// Schedule is the gas schedule; nil means gas.Default().
	Schedule *gas.Schedule
	// Limits bounds deployable code; the zero value means prepare's defaults.
	Limits prepare.Limits
	// MaxCallDepth is the maximum number of nested contract frames, the top-level call
	// included; 0 means DefaultMaxCallDepth.
	MaxCallDepth int
	// CacheEntries bounds the in-memory cache of compiled modules (least recently used
	// entries are dropped); 0 means DefaultCacheEntries.
	CacheEntries int
	// Interruptible makes wazero check the context at every loop iteration and function
	// entry (WithCloseOnContextDone), so that a canceled context stops a call at once even
	// in a tight loop. It costs 5-25x on loop-heavy code (each check is a call out of the
	// compiled code; see docs/rationale/vm.md), so it is off by default: gas already bounds
	// every call, and without it the context is checked at every host call and contract
	// frame, so a canceled call stops at its next host call or after its gas runs out.
	Interruptible bool
	// FreshInstances instantiates every contract frame afresh instead of reusing reset
	// instances (docs/rationale/vm.md, "Instance reuse"). Outcomes are the same; it exists
	// to compare the two in tests and benchmarks.
	FreshInstances bool
}

// VM validates, compiles and runs contracts. Create it with New, release it with Close.
// All methods are safe for concurrent use.
type VM struct {
	engine    Engine
	sched     *gas.Schedule
	limits    prepare.Limits
	maxDepth  int
	reuse     bool // !Config.FreshInstances
	rt        wazero.Runtime
	ccache    wazero.CompilationCache
	modConfig wazero.ModuleConfig
	cache     *codeCache
	hostFns   map[string]hostFn
	memPool   *memoryPool // contract memories
	// executions keeps cleared executions (with their access sets) for the next Call.
	executions sync.Pool

	closeOnce sync.Once
}

// Code is a prepared contract: validated, instrumented and compiled.
type Code struct {
	// Hash is keccak256(Original), the code hash stored in the account.
	Hash types.Hash
	// Original is the code as deployed (what the state stores).
	Original []byte
	// Methods are the callable exports (names not starting with '_'), sorted.
	Methods []string
	// HasInit and HasMigrate tell whether the code exports init / migrate.
	HasInit, HasMigrate bool
	// Blocks counts the code's control instructions (block, loop, if, else, br, br_if,
	// br_table), which wazero's compile time follows. A deploy or upgrade pays
	// gas.Schedule.CompileGas(Blocks) on top of the intrinsic gas of the code's size;
	// the chain charges it from this field, which is the same whether this node
	// compiled the code or found it in its cache.
	Blocks uint64
	// Metadata is the code's parsed metadata section (package vm/metadata), nil when it
	// has none. Deploy validation has checked it against the exports.
	Metadata *metadata.Metadata
}

// VersionString names the on-disk cache folder: the VM version and the schedule version,
// e.g. "vm2-gas1". Compiled code in another folder is never used.
func (v *VM) VersionString() string { return versionString(v.sched) }

func versionString(s *gas.Schedule) string {
	return fmt.Sprintf("vm%d-gas%d", Version, s.Version)
}

// features are the Wasm features the runtime accepts. prepare validates a narrower set
// per module; SIMD, threads, tail calls and exceptions stay off at the runtime level so
// that nothing prepare misses could run. Bulk memory needs reference types in wazero.
const features = api.CoreFeatureMutableGlobal |
	api.CoreFeatureBulkMemoryOperations |
	api.CoreFeatureReferenceTypes |
	api.CoreFeatureMultiValue |
	api.CoreFeatureNonTrappingFloatToIntConversion |
	api.CoreFeatureSignExtensionOps

// New creates a VM. With EngineCompiler it fails when wazero's compiler does not support
// this platform (OS, architecture, CPU features or executable memory). It costs a few
// milliseconds: the runtime, the host module and a probe compilation.
func New(ctx context.Context, cfg Config) (*VM, error) {
	v := &VM{
		engine:   cfg.Engine,
		sched:    cfg.Schedule,
		limits:   cfg.Limits,
		maxDepth: cfg.MaxCallDepth,
		reuse:    !cfg.FreshInstances,
	}
	if v.sched == nil {
		v.sched = gas.Default()
	}
	if err := v.sched.Validate(); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	if v.limits == (prepare.Limits{}) {
		v.limits = prepare.DefaultLimits()
	}
	if v.maxDepth <= 0 {
		v.maxDepth = DefaultMaxCallDepth
	}
	entries := cfg.CacheEntries
	if entries <= 0 {
		entries = DefaultCacheEntries
	}

	var rc wazero.RuntimeConfig
	switch cfg.Engine {
	case EngineCompiler:
		if err := compilerSupported(); err != nil {
			return nil, fmt.Errorf("vm: compiler engine unavailable (no fallback): %w", err)
		}
		rc = wazero.NewRuntimeConfigCompiler()
	case EngineInterpreter:
		rc = wazero.NewRuntimeConfigInterpreter()
	default:
		return nil, fmt.Errorf("vm: unknown engine %d", cfg.Engine)
	}
	rc = rc.WithCoreFeatures(features).
		WithMemoryLimitPages(v.limits.MaxMemoryPages).
		WithCloseOnContextDone(cfg.Interruptible).
		WithDebugInfoEnabled(false)
	if cfg.CacheDir != "" {
		cc, err := wazero.NewCompilationCacheWithDir(filepath.Join(cfg.CacheDir, versionString(v.sched)))
		if err != nil {
			return nil, fmt.Errorf("vm: compilation cache in %s: %w", cfg.CacheDir, err)
		}
		v.ccache = cc
		rc = rc.WithCompilationCache(cc)
	}
	v.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	// Anonymous instances, no start function, and a constant random source: contracts
	// have no WASI, and wazero's default source seeds a math/rand generator per instance.
	// Constant clocks for the same reason (the defaults allocate closures per instance).
	v.modConfig = wazero.NewModuleConfig().WithName("").WithStartFunctions().WithRandSource(zeroReader{}).
		WithWalltime(zeroWalltime, 1).WithNanotime(zeroNanotime, 1)
	v.memPool = &memoryPool{}
	v.executions.New = func() any { return new(execution) }
	v.cache = newCodeCache(entries)
	if err := v.instantiateHost(ctx); err != nil {
		_ = v.Close(ctx)
		return nil, err
	}
	if cfg.Engine == EngineCompiler {
		if err := v.probe(ctx); err != nil {
			_ = v.Close(ctx)
			return nil, fmt.Errorf("vm: compiler engine unavailable (no fallback): %w", err)
		}
	}
	return v, nil
}

func zeroWalltime() (int64, int32) { return 0, 0 }
func zeroNanotime() int64          { return 0 }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// compilerSupported mirrors wazero's own platform check (internal to wazero, which would
// otherwise fail late or fall back): the OSes and architectures its compiler targets, and
// SSE4.1 on amd64.
func compilerSupported() error {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "windows", "dragonfly", "solaris", "illumos":
	default:
		return fmt.Errorf("OS %s", runtime.GOOS)
	}
	switch runtime.GOARCH {
	case "arm64":
		return nil
	case "amd64":
		if !cpu.X86.HasSSE41 {
			return errors.New("amd64 CPU without SSE4.1")
		}
		return nil
	}
	return fmt.Errorf("architecture %s", runtime.GOARCH)
}

// probeWasm is (module (func (export "f") (result i32) i32.const 42)).
var probeWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,
	0x03, 0x02, 0x01, 0x00, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04,
	0x00, 0x41, 0x2a, 0x0b,
}

// probe compiles and runs a tiny module, proving that executable memory works here.
func (v *VM) probe(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("probe compilation panicked: %v", r)
		}
	}()
	cm, err := v.rt.CompileModule(ctx, probeWasm)
	if err != nil {
		return err
	}
	defer cm.Close(ctx)
	mod, err := v.rt.InstantiateModule(ctx, cm, v.modConfig)
	if err != nil {
		return err
	}
	defer mod.Close(ctx)
	res, err := mod.ExportedFunction("f").Call(ctx)
	if err != nil {
		return err
	}
	if len(res) != 1 || res[0] != 42 {
		return fmt.Errorf("probe returned %v", res)
	}
	return nil
}

// Close releases the runtime, every compiled module and the cache handle. Calls running
// concurrently fail. It is idempotent.
func (v *VM) Close(ctx context.Context) error {
	var err error
	v.closeOnce.Do(func() {
		err = v.rt.Close(ctx)
		if v.memPool != nil {
			v.memPool.close()
		}
		if v.ccache != nil {
			if cerr := v.ccache.Close(ctx); err == nil {
				err = cerr
			}
		}
	})
	return err
}

// Engine returns the engine the VM runs.
func (v *VM) Engine() Engine { return v.engine }

// Schedule returns the VM's gas schedule (do not modify it).
func (v *VM) Schedule() *gas.Schedule { return v.sched }

// Prepare validates, instruments and compiles code (raw Wasm, or gzip of it) and puts
// it in the cache. It is the deploy/upgrade path; the chain charges its cost from the
// returned Code (gas.Schedule.Intrinsic of len(Original), plus CompileGas(Blocks)). A
// rejection wraps ErrInvalidCode and names the rule broken. Code.Hash is keccak256 of
// the uncompressed code, Code.Original a copy of it. Preparing raw code already in the
// cache only hashes it. A failure of this node to compile code that validation accepted
// (the on-disk cache failing, for instance) wraps ErrInternal or, when ctx is done,
// ErrCanceled: neither says anything about the code.
func (v *VM) Prepare(ctx context.Context, code []byte) (*Code, error) {
	return v.PrepareIf(ctx, code, nil)
}

// PrepareIf is Prepare for a caller that charges for the code: when the code is not in
// the cache, afford (if not nil) is called with the validated Code before compilation
// and, when it returns false, the Code is returned without being compiled or cached.
// The caller must then not run it (a deploy that cannot pay fails out of gas); afford
// must be the same predicate the caller applies to the returned Code, so that a cache
// hit (no call to afford) and a miss decide alike. It spares a node the compilation —
// the dominant cost of a deploy — of code a tx cannot pay for.
func (v *VM) PrepareIf(ctx context.Context, code []byte, afford func(*Code) bool) (*Code, error) {
	h := types.Hash(crypto.Keccak256Hash(code))
	e := v.cache.acquire(h)
	if e == nil {
		var c *Code
		var err error
		if e, c, err = v.compile(ctx, code, afford); err != nil {
			return nil, err
		}
		if e == nil {
			return c, nil // afford said no
		}
	}
	defer v.cache.release(e)
	return e.code, nil
}

// load returns the cache entry of codeHash, acquired, with one of its idle instances when
// it has one (give both back with cache.releaseInstance), compiling the code that
// original returns on a miss (ok false: the code is missing).
func (v *VM) load(ctx context.Context, codeHash types.Hash, original func() ([]byte, bool)) (*entry, *instance, error) {
	if e, inst := v.cache.acquireInstance(codeHash, true); e != nil {
		return e, inst, nil
	}
	code, ok := original()
	if !ok {
		return nil, nil, fmt.Errorf("%w: code %s missing from state", ErrNoCode, codeHash)
	}
	e, _, err := v.compile(ctx, code, nil)
	return e, nil, err
}

// compile prepares and compiles code and returns its cache entry, acquired, keyed by the
// hash of the uncompressed code. When afford is set and refuses the validated code, it
// returns no entry, only the Code. It runs outside the cache lock: two goroutines
// missing together both compile and one result is kept.
func (v *VM) compile(ctx context.Context, code []byte, afford func(*Code) bool) (*entry, *Code, error) {
	pm, err := prepare.Prepare(code, v.sched, v.limits)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidCode, err)
	}
	h := types.Hash(crypto.Keccak256Hash(pm.Original))
	if e := v.cache.acquire(h); e != nil { // gzip of code already cached
		return e, e.code, nil
	}
	c := &Code{
		Hash:       h,
		Original:   bytes.Clone(pm.Original),
		Methods:    pm.Methods,
		HasInit:    pm.HasInit,
		HasMigrate: pm.HasMigrate,
		Blocks:     pm.Blocks,
		Metadata:   pm.Metadata,
	}
	if afford != nil && !afford(c) {
		return nil, c, nil
	}
	wasmBytes, globalNames, reusable := pm.Instrumented, []string(nil), false
	if v.reuse {
		wasmBytes, globalNames, reusable = exportGlobals(pm.Instrumented)
	}
	cm, err := v.rt.CompileModule(ctx, wasmBytes)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrCanceled, ctx.Err())
		}
		// prepare accepts only what wazero compiles, so a failure here is this node's, not
		// the code's: most often the on-disk compilation cache (a full disk, permissions,
		// a corrupt entry), possibly a wazero bug. Another node compiles the same code
		// fine, so it must never become a receipt: ErrInternal makes the chain abandon
		// the block instead.
		return nil, nil, fmt.Errorf("%w: compile: %v", ErrInternal, err)
	}
	e := &entry{code: c, compiled: cm, methods: make(map[string]bool, len(c.Methods)+2),
		reusable: reusable, globalNames: globalNames}
	for _, m := range c.Methods {
		e.methods[m] = true
	}
	if c.HasInit {
		e.methods[methodInit] = true
	}
	if c.HasMigrate {
		e.methods[methodMigrate] = true
	}
	e = v.cache.add(ctx, e)
	return e, e.code, nil
}

// CachedModules returns the number of compiled modules in the memory cache (a gauge for
// metrics; at most Config.CacheEntries).
func (v *VM) CachedModules() int { return v.cache.len() }
