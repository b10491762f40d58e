// The export formats: each makes its files from a checkpoint's model.
import { ExportFormat } from './exported-model';
import { ONNX_FORMAT } from './onnx';
import { TORCH_FORMAT } from './torch';
import { WEB_FORMAT } from './web';

export const EXPORT_FORMATS: Record<string, ExportFormat> = {
  onnx: ONNX_FORMAT,
  torch: TORCH_FORMAT,
  web: WEB_FORMAT,
};
