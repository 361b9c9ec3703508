using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Security;

public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    private string? _apiKey;

    /// <summary>The expected key. Empty means this scheme refuses everyone.</summary>
    public string? ApiKey
    {
        get => _apiKey;
        set
        {
            _apiKey = value;
            Expected = string.IsNullOrEmpty(value) ? null : Encoding.UTF8.GetBytes(value);
        }
    }

    /// <summary>The expected key as UTF-8, encoded once when the key is set rather than on every request.</summary>
    internal byte[]? Expected { get; private set; }

    public string HeaderName { get; set; } = ApiKeyDefaults.IngestHeader;

    /// <summary>Also accept <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
    public bool AcceptBearer { get; set; }
}

/// <summary>Authenticates a shared key from a header, compared in constant time; a failed challenge answers
/// 401 as ProblemDetails.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeyAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey();
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!Matches(presented, Options.Expected))
        {
            return Task.FromResult(AuthenticateResult.Fail("The key is not valid."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, Scheme.Name)], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        var accepted = Options.AcceptBearer ? $"{Options.HeaderName} or Authorization: Bearer" : Options.HeaderName;
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = $"Present a valid key in {accepted}.",
            },
        });
    }

    /// <summary>Whether <paramref name="presented"/> is the key whose UTF-8 is <paramref name="expected"/>, in time that
    /// tells nothing of the expected key but at most its length: a key of another length is refused after comparing
    /// the expected key with itself, the same work as comparing it with a key of its length. The bytes are compared as
    /// they are, not hashed first: a SHA-256 call through OpenSSL costs several times the comparison, on every request
    /// (BENCHMARKS.md, the ingest key check).</summary>
    public static bool Matches(string presented, byte[]? expected)
    {
        if (expected is null)
        {
            return false;
        }

        // Encoded into a buffer of the expected key's length: a longer key does not fit, so it is never encoded whole.
        var buffer = expected.Length <= MaxStackKeyBytes ? stackalloc byte[expected.Length] : new byte[expected.Length];
        var fits = Encoding.UTF8.TryGetBytes(presented, buffer, out var written);
        var sameLength = fits && written == expected.Length;
        return CryptographicOperations.FixedTimeEquals(sameLength ? buffer : expected, expected) & sameLength;
    }

    private const int MaxStackKeyBytes = 512;

    private string? PresentedKey()
    {
        if (Request.Headers.TryGetValue(Options.HeaderName, out var header) && header.Count > 0)
        {
            return header.ToString();
        }

        const string bearer = "Bearer ";
        var authorization = Request.Headers.Authorization.ToString();
        return Options.AcceptBearer && authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)
            ? authorization[bearer.Length..].Trim()
            : null;
    }
}
