/*
 * echo — returns its input.
 *
 * Method `echo`: input: any bytes (also empty). Output: the same bytes.
 */
#include "wnode.h"

WNODE_EXPORT(echo) void echo(void) {
  size_t n;
  unsigned char *in = wnode_input(&n);
  wnode_return(in, n);
}
