using LlmCostTracker.Contracts;
using LlmCostTracker.Pricing;

namespace LlmCostTracker.Tests.Unit;

/// <summary>The generated catalog, priced case by case against hand-computed micro-dollar figures (a price per 1M
/// tokens times a token count is micro-dollars): at least three current models of each provider, every dimension,
/// the resolution rules (each cousin the family rule used to charge, and invented siblings), dated prices.</summary>
public sealed class PriceBookTests
{
    private static readonly PriceBook Book = new PricingOptions().Build();
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static LlmUsage Usage(string model, long input, long output, long cached = 0, long cacheWrite = 0, long reasoning = 0,
        string? tier = null, string? provider = null, DateTimeOffset? at = null, long cacheWrite1h = 0, long audioIn = 0, long audioOut = 0) => new()
    {
        EventId = "e", UserId = "u", Model = model, InputTokens = input, CachedInputTokens = cached, CacheWriteInputTokens = cacheWrite,
        OutputTokens = output, ReasoningOutputTokens = reasoning, ServiceTier = tier, Provider = provider, OccurredAt = at ?? Now,
        CacheWrite1hInputTokens = cacheWrite1h, AudioInputTokens = audioIn, AudioOutputTokens = audioOut,
    };

    // because, usage, resolved id (null: the fallback), its provider, micro-dollars. Figures are list prices in USD per
    // 1M tokens (the providers' pages, as the generated catalog has them), times token counts, worked by hand.
    public static TheoryData<string, LlmUsage, string?, string?, long> Cases => new()
    {
        // OpenAI
        { "gpt-5.4: 1k × 2.5 + 1k × 15", Usage("gpt-5.4", 1_000, 1_000), "gpt-5.4", "openai", 17_500 },
        { "gpt-5.4 at 272k exactly: standard, 272k × 2.5", Usage("gpt-5.4", 272_000, 0), "gpt-5.4", "openai", 680_000 },
        { "gpt-5.4 above 272k: 300k × 5 + 1k × 22.5", Usage("gpt-5.4", 300_000, 1_000), "gpt-5.4", "openai", 1_522_500 },
        { "gpt-5.4 priority: 1k × 5 + 1k × 30", Usage("gpt-5.4", 1_000, 1_000, tier: "priority"), "gpt-5.4", "openai", 35_000 },
        { "gpt-5.4 flex: 1k × 1.25 + 1k × 7.5", Usage("gpt-5.4", 1_000, 1_000, tier: "flex"), "gpt-5.4", "openai", 8_750 },
        { "gpt-5.4 batch: 1k × 1.25 + 1k × 7.5", Usage("gpt-5.4", 1_000, 1_000, tier: "batch"), "gpt-5.4", "openai", 8_750 },
        { "gpt-5.4 dated snapshot is an alias", Usage("gpt-5.4-2026-03-05", 1_000, 1_000), "gpt-5.4", "openai", 17_500 },
        { "gpt-5.5: 1k × 5 + 1k × 30", Usage("gpt-5.5", 1_000, 1_000), "gpt-5.5", "openai", 35_000 },
        { "gpt-5.5 priority: 1k × 10 + 1k × 60", Usage("gpt-5.5", 1_000, 1_000, tier: "priority"), "gpt-5.5", "openai", 70_000 },
        { "gpt-5.5-pro: 1k × 30 + 1k × 180", Usage("gpt-5.5-pro", 1_000, 1_000), "gpt-5.5-pro", "openai", 210_000 },
        { "gpt-5.4-mini: 1k × 0.75 + 1k × 4.5", Usage("gpt-5.4-mini", 1_000, 1_000), "gpt-5.4-mini", "openai", 5_250 },
        { "gpt-5.4-mini priority: 1k × 1.5 + 1k × 9", Usage("gpt-5.4-mini", 1_000, 1_000, tier: "priority"), "gpt-5.4-mini", "openai", 10_500 },
        { "gpt-5.4-nano: 1k × 0.2 + 1k × 1.25", Usage("gpt-5.4-nano", 1_000, 1_000), "gpt-5.4-nano", "openai", 1_450 },
        { "gpt-5.6 bills cache writes: 500 × 5 + 200 × 0.5 + 300 × 6.25 + 1k × 30", Usage("gpt-5.6", 1_000, 1_000, cached: 200, cacheWrite: 300), "gpt-5.6-sol", "openai", 34_475 },
        { "gpt-5-nano has no priority tier (overlay): standard, 10k × 0.05 + 10k × 0.4", Usage("gpt-5-nano", 10_000, 10_000, tier: "priority"), "gpt-5-nano", "openai", 4_500 },
        { "o3-pro is never o3: 1k × 20 + 1k × 80", Usage("o3-pro", 1_000, 1_000), "o3-pro", "openai", 100_000 },
        { "o3 today: 1k × 2 + 1k × 8", Usage("o3", 1_000, 1_000), "o3", "openai", 10_000 },
        { "o3 before its 2025-06-10 cut: 1k × 10 + 1k × 40", Usage("o3", 1_000, 1_000, at: new DateTimeOffset(2025, 5, 1, 0, 0, 0, TimeSpan.Zero)), "o3", "openai", 50_000 },
        { "o3-mini is never o3: 1k × 1.1 + 1k × 4.4", Usage("o3-mini", 1_000, 1_000), "o3-mini", "openai", 5_500 },
        { "gpt-5.1-codex-mini is never gpt-5.1: 1k × 0.25 + 1k × 2", Usage("gpt-5.1-codex-mini", 1_000, 1_000), "gpt-5.1-codex-mini", "openai", 2_250 },
        { "gpt-4o-2024-08-06 is gpt-4o: 1k × 2.5 + 1k × 10", Usage("gpt-4o-2024-08-06", 1_000, 1_000), "gpt-4o", "openai", 12_500 },
        { "gpt-4o-2024-05-13 at its own 5 / 15 (overlay)", Usage("gpt-4o-2024-05-13", 1_000, 1_000), "gpt-4o-2024-05-13", "openai", 20_000 },
        { "gpt-4o batch: 1k × 1.25 + 1k × 5", Usage("gpt-4o", 1_000, 1_000, tier: "batch"), "gpt-4o", "openai", 6_250 },
        { "text-embedding-3-small: 1M × 0.02", Usage("text-embedding-3-small", 1_000_000, 0), "text-embedding-3-small", "openai", 20_000 },
        { "text-embedding-3-large batch: 1M × 0.065", Usage("text-embedding-3-large", 1_000_000, 0, tier: "batch"), "text-embedding-3-large", "openai", 65_000 },
        { "gpt-realtime audio: 400 × 4 + 600 × 32 + 200 × 16 + 300 × 64", Usage("gpt-realtime", 1_000, 500, audioIn: 600, audioOut: 300), "gpt-realtime", "openai", 43_200 },
        { "reasoning is output unless priced apart: 1k × 10", Usage("gpt-5", 0, 1_000, reasoning: 600), "gpt-5", "openai", 10_000 },
        // Azure OpenAI
        { "Azure gpt-5.4 priority above 272k: 300k × 10 + 1k × 45", Usage("gpt-5.4", 300_000, 1_000, tier: "priority", provider: "azure.ai.openai"), "gpt-5.4", "azure.ai.openai", 3_045_000 },
        { "azure/ names Azure's price: 1k × 0.165 + 1k × 0.66", Usage("azure/gpt-4o-mini", 1_000, 1_000), "gpt-4o-mini", "azure.ai.openai", 825 },
        { "Azure gpt-5.4-mini: 1k × 0.75 + 1k × 4.5", Usage("gpt-5.4-mini", 1_000, 1_000, provider: "azure.ai.openai"), "gpt-5.4-mini", "azure.ai.openai", 5_250 },
        // Anthropic
        { "claude-opus-4-7 is never claude-opus-4: 1k × 5 + 1k × 25", Usage("claude-opus-4-7", 1_000, 1_000), "claude-opus-4-7", "anthropic", 30_000 },
        { "claude-opus-4 is Opus 4.0: 1k × 15 + 1k × 75", Usage("claude-opus-4", 1_000, 1_000), "claude-opus-4-0", "anthropic", 90_000 },
        { "claude-opus-4-8: 500 × 5 + 200 × 0.5 + 300 × 6.25 + 1k × 25", Usage("claude-opus-4-8", 1_000, 1_000, cached: 200, cacheWrite: 300), "claude-opus-4-8", "anthropic", 29_475 },
        { "claude-opus-4-8 1-hour writes: 700 × 5 + 100 × 6.25 + 200 × 10", Usage("claude-opus-4-8", 1_000, 0, cacheWrite: 300, cacheWrite1h: 200), "claude-opus-4-8", "anthropic", 6_125 },
        { "claude-opus-5: 1k × 5 + 1k × 25", Usage("claude-opus-5", 1_000, 1_000), "claude-opus-5", "anthropic", 30_000 },
        { "claude-sonnet-5 from 2026-09-01: 1k × 3 + 1k × 15", Usage("claude-sonnet-5", 1_000, 1_000), "claude-sonnet-5", "anthropic", 18_000 },
        { "claude-sonnet-5 before 2026-09-01: 1k × 2 + 1k × 10", Usage("claude-sonnet-5", 1_000, 1_000, at: new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero)), "claude-sonnet-5", "anthropic", 12_000 },
        { "claude-opus-4-6 long context before 2026-03-13: 300k × 10 + 1k × 37.5", Usage("claude-opus-4-6", 300_000, 1_000, at: new DateTimeOffset(2026, 2, 20, 0, 0, 0, TimeSpan.Zero)), "claude-opus-4-6", "anthropic", 3_037_500 },
        { "claude-opus-4-6 from 2026-03-13, flat: 300k × 5 + 1k × 25", Usage("claude-opus-4-6", 300_000, 1_000), "claude-opus-4-6", "anthropic", 1_525_000 },
        { "claude-sonnet-4-5 above 200k: 150k × 6 + 100k × 0.6 + 50k × 7.5 + 10k × 22.5", Usage("claude-sonnet-4-5", 300_000, 10_000, cached: 100_000, cacheWrite: 50_000), "claude-sonnet-4-5", "anthropic", 1_560_000 },
        { "claude-sonnet-4-5 at 200,001: every token long-context, × 6", Usage("claude-sonnet-4-5", 200_001, 0), "claude-sonnet-4-5", "anthropic", 1_200_006 },
        { "claude-3-haiku cache reads at 0.03, not input: 500 × 0.25 + 500 × 0.03 + 100 × 1.25", Usage("claude-3-haiku", 1_000, 100, cached: 500), "claude-3-haiku", "anthropic", 265 },
        { "claude-haiku-4-5 dated snapshot: 1k × 1 + 1k × 5", Usage("claude-haiku-4-5-20251001", 1_000, 1_000), "claude-haiku-4-5", "anthropic", 6_000 },
        { "claude-sonnet-4-5 dated snapshot: 1k × 3 + 1k × 15", Usage("claude-sonnet-4-5-20250929", 1_000, 1_000), "claude-sonnet-4-5", "anthropic", 18_000 },
        { "Anthropic batch is half: 1k × 2.5 + 1k × 12.5", Usage("claude-opus-4-7", 1_000, 1_000, tier: "batch"), "claude-opus-4-7", "anthropic", 15_000 },
        { "anthropic/ prefix", Usage("anthropic/claude-haiku-4-5", 1_000, 1_000), "claude-haiku-4-5", "anthropic", 6_000 },
        // AWS Bedrock (regional ids at their regional price, global at list)
        { "us. Opus 4.8 at the regional price: 1k × 5.5 + 1k × 27.5", Usage("us.anthropic.claude-opus-4-8-v1:0", 1_000, 1_000), "us.anthropic.claude-opus-4-8-v1:0", "aws.bedrock", 33_000 },
        { "global. Opus 4.8 at list: 1k × 5 + 1k × 25", Usage("global.anthropic.claude-opus-4-8-v1:0", 1_000, 1_000), "global.anthropic.claude-opus-4-8-v1:0", "aws.bedrock", 30_000 },
        { "eu. Opus 4.8 is the regional price too", Usage("eu.anthropic.claude-opus-4-8-v1:0", 1_000, 1_000), "us.anthropic.claude-opus-4-8-v1:0", "aws.bedrock", 33_000 },
        { "apac. (unlisted) is the same model in region: 1k × 5.5 + 1k × 27.5", Usage("apac.anthropic.claude-opus-4-8-v1:0", 1_000, 1_000), "us.anthropic.claude-opus-4-8-v1:0", "aws.bedrock", 33_000 },
        { "Bedrock Sonnet 4.5 regional above 200k: 300k × 6.6 + 1k × 24.75", Usage("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 300_000, 1_000), "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws.bedrock", 2_004_750 },
        { "Amazon Nova Pro: 1k × 0.8 + 1k × 3.2", Usage("amazon.nova-pro-v1:0", 1_000, 1_000), "amazon.nova-pro-v1:0", "aws.bedrock", 4_000 },
        { "Amazon Nova Lite cached: 900 × 0.06 + 100 × 0.015 + 1k × 0.24 = 295.5", Usage("amazon.nova-lite-v1:0", 1_000, 1_000, cached: 100), "amazon.nova-lite-v1:0", "aws.bedrock", 296 },
        { "us. Amazon Nova Pro", Usage("us.amazon.nova-pro-v1:0", 1_000, 1_000), "us.amazon.nova-pro-v1:0", "aws.bedrock", 4_000 },
        { "Llama 4 Maverick on Bedrock: 1k × 0.24 + 1k × 0.97", Usage("meta.llama4-maverick-17b-instruct-v1:0", 1_000, 1_000), "meta.llama4-maverick-17b-instruct-v1:0", "aws.bedrock", 1_210 },
        { "Llama 4 Scout on Bedrock, batch: 1k × 0.085 + 1k × 0.33", Usage("us.meta.llama4-scout-17b-instruct-v1:0", 1_000, 1_000, tier: "batch"), "us.meta.llama4-scout-17b-instruct-v1:0", "aws.bedrock", 415 },
        // Google Gemini API
        { "gemini-2.5-flash-lite is never gemini-2.5-flash: 1k × 0.1 + 1k × 0.4", Usage("gemini-2.5-flash-lite", 1_000, 1_000), "gemini-2.5-flash-lite", "gcp.gemini", 500 },
        { "gemini-2.5-flash audio: 400 × 0.3 + 600 × 1 + 1k × 2.5", Usage("gemini-2.5-flash", 1_000, 1_000, audioIn: 600), "gemini-2.5-flash", "gcp.gemini", 3_220 },
        { "gemini-3-pro-preview: 1k × 2 + 1k × 12", Usage("gemini-3-pro-preview", 1_000, 1_000), "gemini-3-pro-preview", "gcp.gemini", 14_000 },
        { "gemini-3-pro-preview above 200k: 250k × 4 + 1k × 18", Usage("gemini-3-pro-preview", 250_000, 1_000), "gemini-3-pro-preview", "gcp.gemini", 1_018_000 },
        { "gemini-3-pro-preview batch: 1k × 1 + 1k × 6", Usage("gemini-3-pro-preview", 1_000, 1_000, tier: "batch"), "gemini-3-pro-preview", "gcp.gemini", 7_000 },
        { "Gemini batch is half where no price is listed: 1k × 0.625 + 1k × 5", Usage("gemini-2.5-pro", 1_000, 1_000, tier: "batch"), "gemini-2.5-pro", "gcp.gemini", 5_625 },
        { "gemini-3.5-flash: 1k × 1.5 + 1k × 9", Usage("gemini-3.5-flash", 1_000, 1_000), "gemini-3.5-flash", "gcp.gemini", 10_500 },
        { "gemini-2.5-flash-preview-09-2025 is an alias: 1k × 0.3 + 1k × 2.5", Usage("gemini-2.5-flash-preview-09-2025", 1_000, 1_000), "gemini-2.5-flash", "gcp.gemini", 2_800 },
        { "gemini/ prefix", Usage("gemini/gemini-3-pro-preview", 1_000, 1_000), "gemini-3-pro-preview", "gcp.gemini", 14_000 },
        { "gemini-embedding-001: 1M × 0.15", Usage("gemini-embedding-001", 1_000_000, 0), "gemini-embedding-001", "gcp.gemini", 150_000 },
        // Vertex AI
        { "Vertex gemini-2.5-pro above 200k: 250k × 2.5 + 1k × 15", Usage("gemini-2.5-pro", 250_000, 1_000, provider: "gcp.vertex_ai"), "gemini-2.5-pro", "gcp.vertex_ai", 640_000 },
        { "vertex_ai/…@version is Vertex's Opus 4.6: 1k × 5 + 1k × 25", Usage("vertex_ai/claude-opus-4-6@20260205", 1_000, 1_000), "claude-opus-4-6", "gcp.vertex_ai", 30_000 },
        { "Vertex batch: 1k × 1.5 + 1k × 7.5", Usage("claude-sonnet-4-5", 1_000, 1_000, tier: "batch", provider: "gcp.vertex_ai"), "claude-sonnet-4-5", "gcp.vertex_ai", 9_000 },
        // xAI
        { "grok-4 cached: 800 × 3 + 200 × 0.75 + 1k × 15", Usage("grok-4", 1_000, 1_000, cached: 200), "grok-4-0709", "x_ai", 17_550 },
        { "grok-4 above 128k: 200k × 6 + 1k × 30", Usage("grok-4", 200_000, 1_000), "grok-4-0709", "x_ai", 1_230_000 },
        { "grok-4-1-fast-reasoning: 1k × 0.2 + 1k × 0.5", Usage("grok-4-1-fast-reasoning", 1_000, 1_000), "grok-4-1-fast-reasoning", "x_ai", 700 },
        { "grok-4.3: 1k × 1.25 + 1k × 2.5", Usage("grok-4.3", 1_000, 1_000), "grok-4.3", "x_ai", 3_750 },
        { "xai/ prefix: 1k × 0.2 + 1k × 1.5", Usage("xai/grok-code-fast-1", 1_000, 1_000), "grok-code-fast-1", "x_ai", 1_700 },
        // Mistral
        { "mistral-large-2512: 1k × 0.5 + 1k × 1.5", Usage("mistral-large-2512", 1_000, 1_000), "mistral-large-2512", "mistral_ai", 2_000 },
        { "mistral-large-latest today is Large 3 (overlay)", Usage("mistral-large-latest", 1_000, 1_000), "mistral-large-latest", "mistral_ai", 2_000 },
        { "mistral-large-latest in June 2025 was Large 2.1: 1k × 2 + 1k × 6", Usage("mistral-large-latest", 1_000, 1_000, at: new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero)), "mistral-large-latest", "mistral_ai", 8_000 },
        { "mistral-medium-2508: 1k × 0.4 + 1k × 2", Usage("mistral-medium-2508", 1_000, 1_000), "mistral-medium-2508", "mistral_ai", 2_400 },
        { "mistral/ prefix: 1k × 0.1 + 1k × 0.3", Usage("mistral/mistral-small-latest", 1_000, 1_000), "mistral-small-latest", "mistral_ai", 400 },
        // DeepSeek
        { "deepseek-chat cache hits: 500 × 0.28 + 500 × 0.028 + 1k × 0.42", Usage("deepseek-chat", 1_000, 1_000, cached: 500), "deepseek-chat", "deepseek", 574 },
        { "deepseek-reasoner: reasoning as output, 1k × 0.28 + 1k × 0.42", Usage("deepseek-reasoner", 1_000, 1_000, reasoning: 800), "deepseek-reasoner", "deepseek", 700 },
        { "deepseek-v4-pro: 1k × 0.435 + 1k × 0.87", Usage("deepseek-v4-pro", 1_000, 1_000), "deepseek-v4-pro", "deepseek", 1_305 },
        // Groq
        { "Groq Llama 4 Scout: 1k × 0.11 + 1k × 0.34", Usage("meta-llama/llama-4-scout-17b-16e-instruct", 1_000, 1_000), "meta-llama/llama-4-scout-17b-16e-instruct", "groq", 450 },
        { "groq/ prefix: 1k × 0.59 + 1k × 0.79", Usage("groq/llama-3.3-70b-versatile", 1_000, 1_000), "llama-3.3-70b-versatile", "groq", 1_380 },
        { "Groq gpt-oss-120b cached: 500 × 0.15 + 500 × 0.075 + 1k × 0.6 = 712.5", Usage("openai/gpt-oss-120b", 1_000, 1_000, cached: 500), "openai/gpt-oss-120b", "groq", 713 },
        // Together
        { "Together Llama 4 Maverick: 1k × 0.27 + 1k × 0.85", Usage("meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", 1_000, 1_000), "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "together", 1_120 },
        { "together_ai/ names Together's price for an id Groq lists too: 1k × 0.18 + 1k × 0.59", Usage("together_ai/meta-llama/Llama-4-Scout-17B-16E-Instruct", 1_000, 1_000), "meta-llama/Llama-4-Scout-17B-16E-Instruct", "together", 770 },
        { "Together DeepSeek-V3: 1k × 1.25 + 1k × 1.25", Usage("deepseek-ai/DeepSeek-V3", 1_000, 1_000), "deepseek-ai/DeepSeek-V3", "together", 2_500 },
        // Fireworks
        { "Fireworks deepseek-v4-pro: 1k × 1.74 + 1k × 3.48", Usage("accounts/fireworks/models/deepseek-v4-pro", 1_000, 1_000), "deepseek-v4-pro", "fireworks", 5_220 },
        { "deepseek-v4-pro on Fireworks by provider", Usage("deepseek-v4-pro", 1_000, 1_000, provider: "fireworks"), "deepseek-v4-pro", "fireworks", 5_220 },
        { "Fireworks Llama 4 Maverick: 1k × 0.22 + 1k × 0.88", Usage("accounts/fireworks/models/llama4-maverick-instruct-basic", 1_000, 1_000), "llama4-maverick-instruct-basic", "fireworks", 1_100 },
        // Cohere
        { "command-a-03-2025: 1k × 2.5 + 1k × 10", Usage("command-a-03-2025", 1_000, 1_000), "command-a-03-2025", "cohere", 12_500 },
        { "command-r7b-12-2024 = 37.5 + 150", Usage("command-r7b-12-2024", 1_000, 1_000), "command-r7b", "cohere", 188 },
        { "embed-v4.0: 1M × 0.12", Usage("embed-v4.0", 1_000_000, 0), "embed-v4.0", "cohere", 120_000 },
        // Qwen (DashScope), prompt-size bands at 32k and 128k
        { "qwen3-max: 1k × 1.2 + 1k × 6", Usage("qwen3-max", 1_000, 1_000), "qwen3-max", "dashscope", 7_200 },
        { "qwen3-max above 32k: 40k × 2.4 + 1k × 12", Usage("qwen3-max", 40_000, 1_000), "qwen3-max", "dashscope", 108_000 },
        { "qwen3-max above 128k: 130k × 3 + 1k × 15", Usage("qwen3-max", 130_000, 1_000), "qwen3-max", "dashscope", 405_000 },
        { "dashscope/ prefix: 1k × 0.4 + 1k × 1.2", Usage("dashscope/qwen-plus", 1_000, 1_000), "qwen-plus", "dashscope", 1_600 },
        // OpenRouter, Perplexity, Moonshot, Voyage
        { "OpenRouter's own id: 1k × 5 + 1k × 25", Usage("anthropic/claude-opus-5", 1_000, 1_000), "anthropic/claude-opus-5", "openrouter", 30_000 },
        { "openrouter/ prefix: 1k × 2.5 + 1k × 15", Usage("openrouter/openai/gpt-5.4", 1_000, 1_000), "openai/gpt-5.4", "openrouter", 17_500 },
        { "sonar-pro: 1k × 3 + 1k × 15", Usage("sonar-pro", 1_000, 1_000), "sonar-pro", "perplexity", 18_000 },
        { "sonar: 1k × 1 + 1k × 1", Usage("sonar", 1_000, 1_000), "sonar", "perplexity", 2_000 },
        { "kimi-k2-0905-preview: 1k × 0.6 + 1k × 2.5", Usage("kimi-k2-0905-preview", 1_000, 1_000), "kimi-k2-0905-preview", "moonshot", 3_100 },
        { "voyage-3.5: 1M × 0.06", Usage("voyage-3.5", 1_000_000, 0), "voyage-3.5", "voyage", 60_000 },
        // Ids that resolve to nothing listed: the fallback, 1k × 10 + 1k × 30, never a relative
        { "invented sibling claude-opus-4-9", Usage("claude-opus-4-9", 1_000, 1_000), null, null, 40_000 },
        { "invented sibling gpt-5.4-ultra", Usage("gpt-5.4-ultra", 1_000, 1_000), null, null, 40_000 },
        { "invented sibling o3-ultra", Usage("o3-ultra", 1_000, 1_000), null, null, 40_000 },
        { "invented sibling gemini-2.5-flash-max", Usage("gemini-2.5-flash-max", 1_000, 1_000), null, null, 40_000 },
        { "a made-up id", Usage("acme-llm-7", 1_000, 1_000), null, null, 40_000 },
    };

    /// <summary>Rates 1 to 8 per token, one a dimension: each sub-count alone moves its tokens to its own rate (a
    /// call with none of them skips those terms).</summary>
    [Theory]
    [InlineData(0, 0, 0, 0, 0, 0, 5_000)]
    [InlineData(100, 0, 0, 0, 0, 0, 5_100)]
    [InlineData(0, 100, 0, 0, 0, 0, 5_200)]
    [InlineData(0, 100, 100, 0, 0, 0, 5_500)]
    [InlineData(0, 0, 0, 100, 0, 0, 5_600)]
    [InlineData(0, 0, 0, 0, 100, 0, 5_100)]
    [InlineData(0, 0, 0, 0, 0, 100, 5_400)]
    public void Each_token_dimension_alone_is_priced_at_its_rate(long cached, long cacheWrite, long cacheWrite1h, long audioIn, long reasoning, long audioOut, long expected) =>
        Assert.Equal(expected, PriceBook.CostMicros(new Rates(1m, 2m, 3m, 4m, 5m, 6m, 7m, 8m), input: 1_000, cached, cacheWrite, output: 1_000, reasoning,
            cacheWrite1h, audioIn, audioOut));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Prices_each_case_to_the_micro_dollar(string because, LlmUsage usage, string? resolvedId, string? provider, long expectedMicros)
    {
        var quote = Book.Quote(usage);

        Assert.True(resolvedId == quote.KnownModel, $"{because}: resolved to {quote.KnownModel ?? "the fallback"}");
        Assert.True(provider == quote.Entry?.Provider, $"{because}: provider {quote.Entry?.Provider}");
        Assert.True(expectedMicros == PriceBook.CostMicros(quote.Rates, usage), $"{because}: {PriceBook.CostMicros(quote.Rates, usage)} µ$");
    }

    [Theory]
    [InlineData("gpt-5-nano", "priority", true)]
    [InlineData("gemini-2.5-pro", "batch", false)]
    [InlineData("gpt-5.4", "priority", false)]
    [InlineData("claude-haiku-4-5", "batch", false)]
    [InlineData("sonar", "flex", true)]
    [InlineData("gpt-5", null, false)]
    public void A_tier_the_model_has_no_price_for_is_flagged(string model, string? tier, bool unpriced) =>
        Assert.Equal(unpriced, Book.Quote(model, null, tier, 1_000, Now).TierUnpriced);

    [Theory]
    [InlineData("gpt-5", MatchKinds.Exact)]
    [InlineData("gpt-5-chat-latest", MatchKinds.Alias)]
    [InlineData("openai/gpt-5", MatchKinds.Exact)] // OpenRouter's id
    [InlineData("azure/gpt-5", MatchKinds.Prefix)]
    [InlineData("apac.anthropic.claude-opus-4-8-v1:0", MatchKinds.Cloud)]
    [InlineData("vertex_ai/claude-opus-4-6@20260205", MatchKinds.Cloud)]
    [InlineData("claude-opus-4-7-20260501", MatchKinds.Snapshot)]
    [InlineData("gpt-4o-2024-08-06", MatchKinds.Alias)]
    [InlineData("claude-opus-4-9", MatchKinds.Fallback)]
    public void Says_how_an_id_matched(string model, string match) => Assert.Equal(match, Book.Resolve(model).Match);

    [Fact]
    public void A_deployment_name_in_configuration_prices_as_its_model()
    {
        var book = new PricingOptions { Deployments = { ["prod-chat"] = "gpt-5.4" } }.Build();

        var quote = book.Quote(Usage("prod-chat", 1_000, 1_000, provider: "azure.ai.openai"));

        Assert.Equal((MatchKinds.Deployment, "gpt-5.4", "azure.ai.openai"), (quote.Match, quote.KnownModel, quote.Entry!.Provider));
        Assert.Equal(17_500, PriceBook.CostMicros(quote.Rates, Usage("prod-chat", 1_000, 1_000)));
    }

    [Fact]
    public void The_shipped_catalog_is_generated_broad_and_dated()
    {
        var catalog = PriceCatalog.Shipped();
        var models = catalog.Models.Select(m => (m.Provider, m.Id.ToLowerInvariant())).Distinct().ToList();
        Assert.True(models.Count >= 1_500, $"{models.Count} models");
        string[] providers = ["openai", "azure.ai.openai", "anthropic", "aws.bedrock", "gcp.gemini", "gcp.vertex_ai", "x_ai", "mistral_ai", "deepseek", "groq",
            "together", "fireworks", "cohere", "dashscope", "openrouter", "perplexity"];
        Assert.All(providers, p => Assert.True(models.Count(m => m.Provider == p) >= 3, $"{p}: {models.Count(m => m.Provider == p)} models"));
        Assert.Contains(catalog.Models, m => m.Mode == "embedding");
        Assert.All(catalog.Models, m => Assert.True(m.Checked is not null && m.Origin is not null, $"{m.Provider}/{m.Id} has no source or check date"));
        Assert.Equal(["genai-prices", "litellm"], catalog.Sources.Select(s => s.Name));
        Assert.Empty(new PricingOptions().Problems());
    }

    [Fact]
    public void A_bad_entry_is_refused_with_the_entry_and_field_named()
    {
        var json = """
            { "asOf": "2026-12-01", "fallback": { "input": 10, "output": 30 },
              "models": [
                { "provider": "openai", "id": "fine", "effectiveFrom": "2025-01-01", "input": 1, "output": 2 },
                { "provider": "openai", "id": "broken", "effectiveFrom": "2025-01-01", "input": -1, "output": 2 } ] }
            """;
        var catalog = PriceCatalog.Parse(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));

        var refused = Assert.Throws<PriceCatalogException>(() => PriceValidation.Validate(catalog));
        Assert.Contains("models[1].input: openai/broken: ", refused.Message);
    }

    [Fact]
    public void An_unknown_field_in_the_catalog_is_refused_not_ignored()
    {
        var json = """{ "asOf": "2026-12-01", "models": [ { "provider": "openai", "id": "x", "effectiveFrom": "2025-01-01", "input": 1, "ouput": 2 } ] }""";
        Assert.Throws<PriceCatalogException>(() => PriceCatalog.Parse(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))));
    }

    [Fact]
    public void An_override_applies_from_its_date_on_and_the_past_keeps_its_price()
    {
        var from = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
        var book = new PricingOptions().Build([new PriceEntry { Provider = "openai", Id = "gpt-5", EffectiveFrom = from, Input = 1, Output = 2, Source = PriceSources.Override }]);

        Assert.Equal(11_250, PriceBook.CostMicros(book.Quote(Usage("gpt-5", 1_000, 1_000, at: from.AddSeconds(-1))).Rates, Usage("gpt-5", 1_000, 1_000)));
        var after = book.Quote(Usage("gpt-5", 1_000, 1_000, at: from));
        Assert.Equal(PriceSources.Override, after.Entry!.Source);
        Assert.Equal(3_000, PriceBook.CostMicros(after.Rates, Usage("gpt-5", 1_000, 1_000)));
    }

    [Fact]
    public void Configuration_replaces_a_catalog_model_for_every_date_and_adds_new_ones()
    {
        var options = new PricingOptions
        {
            Models =
            {
                ["gpt-4o"] = new ConfiguredPrice { Input = 1, Output = 1 },
                ["acme-ft-1"] = new ConfiguredPrice { Input = 4, Output = 8, Provider = "azure.ai.openai" },
            },
        };
        var book = options.Build();

        Assert.Equal(2_000, PriceBook.CostMicros(book.Quote(Usage("gpt-4o", 1_000, 1_000)).Rates, Usage("gpt-4o", 1_000, 1_000)));
        var custom = book.Quote(Usage("acme-ft-1", 1_000, 1_000));
        Assert.Equal((PriceSources.Configuration, "azure.ai.openai"), (custom.Entry!.Source, custom.Entry.Provider));
        Assert.Equal(12_000, PriceBook.CostMicros(custom.Rates, Usage("acme-ft-1", 1_000, 1_000)));
    }

    [Fact]
    public void The_provider_picks_the_entry_when_several_providers_list_an_id()
    {
        var book = new PricingOptions().Build([new PriceEntry { Provider = "azure.ai.openai", Id = "gpt-5", EffectiveFrom = PricingOptions.Always, Input = 2, Output = 20 }]);

        Assert.Equal("openai", book.Quote(Usage("gpt-5", 1, 1)).Entry!.Provider);
        Assert.Equal("azure.ai.openai", book.Quote(Usage("gpt-5", 1, 1, provider: "azure.ai.openai")).Entry!.Provider);
        Assert.Equal("openai", book.Quote(Usage("gpt-5", 1, 1, provider: "openai")).Entry!.Provider);
    }

    [Theory]
    [InlineData(1, 0)]   // gpt-4o-mini: 0.15 micro-dollars rounds to 0
    [InlineData(4, 1)]   // 0.60 → 1
    [InlineData(10, 2)]  // 1.5 → 2 (halves away from zero)
    public void Cost_is_rounded_to_the_nearest_micro_dollar(long input, long expected) =>
        Assert.Equal(expected, PriceBook.CostMicros(Book.Quote(Usage("gpt-4o-mini", input, 0)).Rates, Usage("gpt-4o-mini", input, 0)));

    [Fact]
    public void The_largest_event_does_not_overflow() =>
        Assert.Equal(9_000_000_000, PriceBook.CostMicros(Book.Quote(Usage("claude-opus-4-1", 1, 1)).Rates, Usage("claude-opus-4-1", 100_000_000, 100_000_000)));
}
