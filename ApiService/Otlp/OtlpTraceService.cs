using Grpc.Core;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Otlp.Proto;
using LlmCostTracker.ApiService.Security;
using Microsoft.AspNetCore.Authorization;

namespace LlmCostTracker.ApiService.Otlp;

/// <summary>OTLP/gRPC trace export (<c>opentelemetry.proto.collector.trace.v1.TraceService/Export</c>), served on
/// the API's HTTP/2 <c>otlp</c> endpoint with the ingest key in the <c>x-api-key</c> or <c>authorization</c> metadata.</summary>
[Authorize(Policy = ApiKeyDefaults.IngestPolicy)]
public sealed class OtlpTraceService(OtlpTraceIngest ingest) : TraceService.TraceServiceBase
{
    public override async Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
    {
        if (ingest.TooManySpans(request))
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, ingest.TooManySpansMessage));
        }

        try
        {
            return await ingest.ExportAsync(request, context.CancellationToken);
        }
        catch (BrokerUnavailableException ex)
        {
            // UNAVAILABLE is retryable for OTLP exporters; each span still counts once (its event id).
            throw new RpcException(new Status(StatusCode.Unavailable, $"{ex.Message} Nothing of this export was acknowledged: export it again."));
        }
    }
}
