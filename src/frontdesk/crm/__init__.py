"""CRM records per tenant (spec/crmod-cti.md §7, native.md §9): model, matching, dataset, import."""
