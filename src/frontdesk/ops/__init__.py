"""Operations around the engine: metrics, limits, request logging context, webhook delivery,
retention, administration of the applied configuration and bulk export."""
