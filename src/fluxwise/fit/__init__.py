"""Model fitting: fouling-model fits of trials, model selection, intervals."""
