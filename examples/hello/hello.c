/*
 * hello — the smallest useful wnode contract.
 *
 * Method `hello`: input X (any bytes) -> output "hello, " || X.
 * Empty input -> "hello, world".
 */
#include "wnode.h"

WNODE_METHOD(hello, view, text, text, "Returns hello, NAME for the input NAME (empty: world).")
void hello(void) {
  static const char greeting[] = "hello, ";
  size_t glen = sizeof greeting - 1;
  size_t n = (size_t)wnode_input_size();
  if (n == 0) {
    wnode_return_str("hello, world");
    return;
  }
  unsigned char *out = (unsigned char *)wnode_alloc(glen + n);
  memcpy(out, greeting, glen);
  wnode_input_read(out + glen);
  wnode_return(out, glen + n);
}
