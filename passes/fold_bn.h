/* fold_bn.h — folding inference BatchNormalization into the layer before it
 * (fold_bn.c), for the `fold-bn` pass and for passes that fold first
 * (`quant`). */
#ifndef ECC_PASSES_FOLD_BN_H
#define ECC_PASSES_FOLD_BN_H

#include "pipeline.h"

/* Folds every foldable BatchNormalization of run->model (all subgraphs);
 * records the stats "folded" and "skipped" on run and logs each skip's
 * reason at -v. *folded (may be NULL) gets the count. */
ecc_status ecc_fold_bn_model(const ecc_host_api *host, ecc_pass_run *run, size_t *folded);

#endif
