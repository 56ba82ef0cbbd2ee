# Shared by the bench-*.sh scripts that compare two versions in one run. Source it after
# setting ROOT (the checkout) and WORK (a scratch directory the caller removes).

# build_test REV PKG BENCHFILE OUT: builds PKG's test binary at commit REV (empty: this
# checkout) into OUT. The old version runs this checkout's BENCHFILE (a path under ROOT),
# so both run the same harness. The worktree it makes is $WORK/old-REV; remove_worktrees
# takes them away.
build_test() {
	local rev="$1" pkg="$2" bench="$3" out="$4"
	if [ -z "$rev" ]; then
		(cd "$ROOT" && go test -c -o "$out" "./$pkg")
		return
	fi
	git -C "$ROOT" worktree add -q --detach "$WORK/old-$rev" "$rev" >/dev/null
	cp "$ROOT/$bench" "$WORK/old-$rev/$bench"
	(cd "$WORK/old-$rev" && go test -c -o "$out" "./$pkg")
}

# remove_worktrees removes the worktrees build_test made.
remove_worktrees() {
	local d
	for d in "$WORK"/old-*; do
		[ -d "$d" ] && git -C "$ROOT" worktree remove --force "$d" >/dev/null 2>&1
	done
	return 0
}
