package gas

import (
	"math"
	"math/big"
	"math/bits"
	"testing"

	"pgregory.net/rapid"
)

func TestLinearCost(t *testing.T) {
	cases := []struct {
		l    Linear
		n    uint64
		want uint64
	}{
		{Linear{Base: 5}, 1 << 40, 5},
		{Linear{Base: 5, PerKiB: 1024}, 0, 5},
		{Linear{Base: 5, PerKiB: 1024}, 7, 12},
		{Linear{Base: 0, PerKiB: 64}, 1, 1},     // rounded up
		{Linear{Base: 0, PerKiB: 64}, 16, 1},    // exactly 1
		{Linear{Base: 0, PerKiB: 64}, 17, 2},    // rounded up
		{Linear{Base: 0, PerKiB: 64}, 1024, 64}, // one KiB
		{Linear{Base: 1, PerKiB: math.MaxUint64}, math.MaxUint64, math.MaxUint64},
		{Linear{Base: math.MaxUint64, PerKiB: 1}, 1, math.MaxUint64},
		{Linear{Base: 0, PerKiB: 1024}, math.MaxUint64, math.MaxUint64},
		{Linear{Base: 0, PerKiB: 1023}, math.MaxUint64, 0}, // filled in below
	}
	for _, c := range cases {
		var want uint64
		exact := new(big.Int).Mul(new(big.Int).SetUint64(c.n), new(big.Int).SetUint64(c.l.PerKiB))
		exact.Add(exact, big.NewInt(1023))
		exact.Rsh(exact, 10)
		exact.Add(exact, new(big.Int).SetUint64(c.l.Base))
		if exact.IsUint64() {
			want = exact.Uint64()
		} else {
			want = math.MaxUint64
		}
		if c.want != 0 && c.want != want {
			t.Fatalf("table error for %+v n=%d: %d vs big %d", c.l, c.n, c.want, want)
		}
		if got := c.l.Cost(c.n); got != want {
			t.Errorf("%+v.Cost(%d) = %d, want %d", c.l, c.n, got, want)
		}
	}
}

func TestLinearCostProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := Linear{Base: rapid.Uint64().Draw(t, "base"), PerKiB: rapid.Uint64().Draw(t, "perKiB")}
		n := rapid.Uint64().Draw(t, "n")
		exact := new(big.Int).Mul(new(big.Int).SetUint64(n), new(big.Int).SetUint64(l.PerKiB))
		exact.Add(exact, big.NewInt(1023))
		exact.Rsh(exact, 10)
		exact.Add(exact, new(big.Int).SetUint64(l.Base))
		want := uint64(math.MaxUint64)
		if exact.IsUint64() {
			want = exact.Uint64()
		}
		if got := l.Cost(n); got != want {
			t.Fatalf("%+v.Cost(%d) = %d, want %d", l, n, got, want)
		}
	})
}

func TestIntrinsic(t *testing.T) {
	s := Default()
	if got, want := s.Intrinsic(100, 0), s.Tx.Base+100*s.Tx.PerByte; got != want {
		t.Fatalf("Intrinsic(100, 0) = %d, want %d", got, want)
	}
	want := s.Tx.Base + 1000*s.Tx.PerByte + 900*(s.Tx.DeployPerCodeByte+s.Tx.CompilePerCodeByte)
	if got := s.Intrinsic(1000, 900); got != want {
		t.Fatalf("Intrinsic(1000, 900) = %d, want %d", got, want)
	}
	if got := s.Intrinsic(math.MaxUint64, 1); got != math.MaxUint64 {
		t.Fatalf("Intrinsic saturates: got %d", got)
	}
	if got := s.CompileGas(10); got != 10*s.Tx.CompilePerBlock {
		t.Fatalf("CompileGas(10) = %d", got)
	}
	if got := s.CompileGas(math.MaxUint64); got != math.MaxUint64 {
		t.Fatalf("CompileGas saturates: got %d", got)
	}
}

func TestSchedules(t *testing.T) {
	s := Default()
	if s.Version != 1 {
		t.Fatalf("Default().Version = %d", s.Version)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	s.Instr.Simple = 99 // a copy: must not change the published version
	if Default().Instr.Simple == 99 {
		t.Fatal("Default returned shared state")
	}
	if _, err := ByVersion(1); err != nil {
		t.Fatal(err)
	}
	if _, err := ByVersion(2); err == nil {
		t.Fatal("ByVersion(2) succeeded")
	}
	s.Instr.MemoryCopy.PerKiB = MaxInstrCost + 1
	if err := s.Validate(); err == nil {
		t.Fatal("Validate accepted an oversized figure")
	}
	free := Default()
	free.Instr.Branch = 0
	if err := free.Validate(); err == nil {
		t.Fatal("Validate accepted free branches")
	}
	d := Default()
	// A write reads the old value (to journal it) and then rewrites the tree at commit;
	// its bytes are kept forever by every node.
	if d.Host.StorageWrite.Base < 2*d.Host.StorageRead.Base || d.Host.StorageWrite.PerKiB < 10*d.Host.StorageRead.PerKiB {
		t.Fatal("storage writes must be priced far above reads")
	}
	if d.Instr.Call <= d.Instr.Simple || d.Instr.CallIndirect < d.Instr.Call || d.Instr.Branch <= d.Instr.Simple {
		t.Fatal("calls and branches must cost more than simple ops")
	}
}

func TestCeilGas(t *testing.T) {
	for _, c := range []struct{ milli, want uint64 }{
		{0, 0}, {1, 1}, {999, 1}, {1000, 1}, {1001, 2}, {2500, 3},
		{math.MaxUint64, math.MaxUint64/MilliGas + 1},
	} {
		if got := CeilGas(c.milli); got != c.want {
			t.Errorf("CeilGas(%d) = %d, want %d", c.milli, got, c.want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.Uint64().Draw(t, "milli")
		g := CeilGas(m)
		// g*1000 >= m > (g-1)*1000, in 128 bits
		hi, lo := bits.Mul64(g, MilliGas)
		if hi == 0 && lo < m {
			t.Fatalf("CeilGas(%d) = %d is below", m, g)
		}
		if g > 0 && (g-1)*MilliGas >= m {
			t.Fatalf("CeilGas(%d) = %d is above", m, g)
		}
	})
}

func TestValidateStaticGasParts(t *testing.T) {
	s := Default()
	s.Instr.MemoryGrowBase = MaxInstrCost/MilliGas + 1 // in gas: × 1000 would exceed the bound
	if err := s.Validate(); err == nil {
		t.Fatal("Validate accepted a memory.grow base above MaxInstrCost milligas")
	}
	s = Default()
	s.Instr.FloatSqrt = MaxInstrCost + 1
	if err := s.Validate(); err == nil {
		t.Fatal("Validate accepted an oversized FloatSqrt")
	}
}

func TestValidateWarmPrices(t *testing.T) {
	for name, mod := range map[string]func(h *Host){
		"free warm read":                func(h *Host) { h.StorageReadWarm.Base = 0 },
		"warm read above cold":          func(h *Host) { h.StorageReadWarm.Base = h.StorageRead.Base + 1 },
		"warm read bytes above cold":    func(h *Host) { h.StorageReadWarm.PerKiB = h.StorageRead.PerKiB + 1 },
		"free warm balance":             func(h *Host) { h.BalanceWarm.Base = 0 },
		"warm balance above cold":       func(h *Host) { h.BalanceWarm.Base = h.Balance.Base + 1 },
		"warm balance bytes above cold": func(h *Host) { h.BalanceWarm.PerKiB = h.Balance.PerKiB + 1 },
	} {
		s := Default()
		mod(&s.Host)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, s.Host)
		}
	}
	s := Default()
	s.Host.StorageReadWarm = s.Host.StorageRead // warm may equal cold (no discount)
	s.Host.BalanceWarm = s.Host.Balance
	if err := s.Validate(); err != nil {
		t.Fatalf("warm = cold refused: %v", err)
	}
	d := Default()
	// A cold read walks the tree (~40 µs), a warm one is an overlay lookup (~0.1 µs).
	if d.Host.StorageReadWarm.Base*50 > d.Host.StorageRead.Base || d.Host.BalanceWarm.Base*50 > d.Host.Balance.Base {
		t.Fatal("warm accesses must be far cheaper than cold ones")
	}
}
