"""The reconciler: plan what the specs need, then carry it out."""
