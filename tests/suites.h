/* Every suite registration function; tests/test_main.c calls them in order. */
#ifndef DMMP_TESTS_SUITES_H
#define DMMP_TESTS_SUITES_H

int register_core_suites(void);
int register_optim_kernel_suites(void);
int register_optim_suites(void);
int register_optim_sparse_suites(void);
int register_embedding_suites(void);
int register_dense_suites(void);
int register_config_suites(void);
int register_checkpoint_suites(void);

#endif
