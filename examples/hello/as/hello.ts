// hello — examples/hello written with the AssemblyScript SDK; behaves exactly like
// hello.c: input X (any bytes) -> output "hello, " || X; empty input -> "hello, world".
import { concat, input, ret, retText, utf8 } from "../../../sdk/assemblyscript/assembly/index";

// @wnode view text text Returns hello, NAME for the input NAME (empty: world).
export function hello(): void {
  const name = input();
  if (name.length == 0) {
    retText("hello, world");
    return;
  }
  ret(concat(utf8("hello, "), name));
}
