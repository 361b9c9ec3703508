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
            ExpectedHash = string.IsNullOrEmpty(value) ? null : ApiKeyAuthenticationHandler.Hash(value);
        }
    }

    /// <summary>The expected key's hash, computed once when the key is set rather than on every request.</summary>
    internal byte[]? ExpectedHash { get; private set; }

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

        if (!Matches(presented, Options.ExpectedHash))
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

    /// <summary>Compares hashes, so the comparison is constant-time whatever the lengths.</summary>
    public static bool Matches(string presented, byte[]? expectedHash) =>
        expectedHash is not null && CryptographicOperations.FixedTimeEquals(Hash(presented), expectedHash);

    internal static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

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
