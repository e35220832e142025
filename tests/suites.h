/* Every suite registration function; tests/test_main.c calls them in order. */
#ifndef DMMP_TESTS_SUITES_H
#define DMMP_TESTS_SUITES_H

int register_core_suites(void);
int register_alias_suites(void);
int register_optim_kernel_suites(void);
int register_vec_kernel_suites(void);
int register_narrow_suites(void);
int register_wgrad_suites(void);
int register_act_xent_suites(void);
int register_optim_suites(void);
int register_optim_sparse_suites(void);
int register_embedding_suites(void);
int register_dense_suites(void);
int register_config_suites(void);
int register_loss_suites(void);
int register_inbatch_suites(void);
int register_metrics_suites(void);
int register_topk_suites(void);
int register_dataset_suites(void);
int register_synth_suites(void);
int register_world_intent_suites(void);
int register_batcher_suites(void);
int register_import_suites(void);

int register_model_suites(void);
int register_model_negatives_suites(void);

int register_features_suites(void);
int register_table_shard_suites(void);
int register_results_suites(void);
int register_stats_suites(void);
int register_report_suites(void);
int register_provenance_suites(void);
int register_plot_suites(void);
int register_evaluate_suites(void);
int register_checkpoint_suites(void);
int register_trainer_suites(void);
int register_curves_suites(void);
int register_robust_suites(void);
int register_robust_e2e_suites(void);

int register_chunk_pool_suites(void);
int register_h5_integrity_suites(void);
int register_h5_verify_suites(void);
int register_h5_damage_suites(void);
int register_child_run_suites(void);

int register_weighting_suites(void);
int register_bench_suites(void);

int register_cli_workflow_suites(void);
int register_export_suites(void);
int register_options_suites(void);

#endif
